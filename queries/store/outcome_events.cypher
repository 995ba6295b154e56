// name: store/outcome_events
// description: Every recorded outcome of a kind.
// parameters: $outcome (string)
// returns: applicant_id, observed_at
MATCH (a:Applicant)-[:HAD]->(o:Outcome {outcome: $outcome})
RETURN a.id AS applicant_id, o.observed_at AS observed_at
ORDER BY observed_at, applicant_id
