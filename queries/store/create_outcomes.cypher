// name: store/create_outcomes
// description: Create new outcomes, linked to the phone they name when there is one.
// parameters: $rows (list of maps: hash, applicant_id, outcome, observed_at, phone_ref)
// returns: nothing
UNWIND $rows AS row
MATCH (a:Applicant {id: row.applicant_id})
CREATE (a)-[:HAD]->(o:Outcome {hash: row.hash, outcome: row.outcome, observed_at: row.observed_at})
WITH o, row
WHERE row.phone_ref IS NOT NULL
MATCH (i:Identifier {ref: row.phone_ref})
CREATE (o)-[:ON_PHONE]->(i)
