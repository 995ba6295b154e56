// name: store/all_outcomes
// description: Every outcome observed by $as_of (undated ones only when $as_of is null).
// parameters: $as_of (integer seconds or null)
// returns: applicant_id, outcome, observed_at
MATCH (a:Applicant)-[:HAD]->(o:Outcome)
WHERE $as_of IS NULL OR o.observed_at <= $as_of
RETURN a.id AS applicant_id, o.outcome AS outcome, o.observed_at AS observed_at
