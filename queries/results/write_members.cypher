// name: results/write_members
// description: Ring membership of a run.
// parameters: $run_id (string), $rows (list of maps: ring_id, applicant_id)
// returns: nothing
UNWIND $rows AS row
MATCH (g:Ring {run_id: $run_id, ring_id: row.ring_id})
MATCH (a:Applicant {id: row.applicant_id})
CREATE (g)-[:MEMBER]->(a)
