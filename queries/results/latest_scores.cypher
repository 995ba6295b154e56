// name: results/latest_scores
// description: Scores of some applicants in a run, with their ring's risk and size.
// parameters: $run_id (string), $ids (list of applicant ids)
// returns: applicant_id, score, band, ring_id, reasons, risk, size
MATCH (r:Run {run_id: $run_id})
UNWIND $ids AS id
MATCH (r)-[s:SCORED]->(a:Applicant {id: id})
OPTIONAL MATCH (r)-[:FOUND]->(g:Ring {ring_id: s.ring_id})
RETURN a.id AS applicant_id, s.score AS score, s.band AS band, s.ring_id AS ring_id, s.reasons AS reasons,
       g.risk AS risk, g.size AS size
