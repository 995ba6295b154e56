// name: results/write_scores
// description: Scores of a run, as SCORED relationships from the run, also written back onto the applicants (score, band, ring_id, run_id) for investigators.
// parameters: $run_id (string), $rows (list of maps: applicant_id, score, band, ring_id, reasons)
// returns: nothing
MATCH (r:Run {run_id: $run_id})
UNWIND $rows AS row
MATCH (a:Applicant {id: row.applicant_id})
CREATE (r)-[:SCORED {score: row.score, band: row.band, ring_id: row.ring_id, reasons: row.reasons}]->(a)
SET a.score = row.score, a.band = row.band, a.ring_id = row.ring_id, a.run_id = $run_id
