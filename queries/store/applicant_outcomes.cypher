// name: store/applicant_outcomes
// description: One applicant's outcomes, oldest first, with the phone an outcome names.
// parameters: $applicant_id (string)
// returns: outcome, observed_at, phone
MATCH (:Applicant {id: $applicant_id})-[:HAD]->(o:Outcome)
OPTIONAL MATCH (o)-[:ON_PHONE]->(p:Identifier)
RETURN o.outcome AS outcome, o.observed_at AS observed_at, p.value AS phone
ORDER BY observed_at, o.hash
