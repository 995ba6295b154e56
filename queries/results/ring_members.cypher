// name: results/ring_members
// description: Ring members of a run, optionally of some rings or applicants only (null: all).
// parameters: $run_id (string), $ring_ids (list or null), $applicant_ids (list or null)
// returns: ring_id, applicant_id
MATCH (:Run {run_id: $run_id})-[:FOUND]->(g:Ring)-[:MEMBER]->(a:Applicant)
WHERE ($ring_ids IS NULL OR g.ring_id IN $ring_ids) AND ($applicant_ids IS NULL OR a.id IN $applicant_ids)
RETURN g.ring_id AS ring_id, a.id AS applicant_id
