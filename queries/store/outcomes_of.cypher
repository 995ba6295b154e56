// name: store/outcomes_of
// description: Recorded outcomes of the given applicants.
// parameters: $ids (list of applicant ids)
// returns: applicant_id, outcome
UNWIND $ids AS id
MATCH (a:Applicant {id: id})-[:HAD]->(o:Outcome)
RETURN DISTINCT a.id AS applicant_id, o.outcome AS outcome
