// name: results/scores
// description: Scores of a run, optionally of some applicants or rings only (null: all).
// parameters: $run_id (string), $applicant_ids (list or null), $ring_ids (list or null)
// returns: applicant_id, score, band, ring_id, reasons
MATCH (:Run {run_id: $run_id})-[s:SCORED]->(a:Applicant)
WHERE ($applicant_ids IS NULL OR a.id IN $applicant_ids) AND ($ring_ids IS NULL OR s.ring_id IN $ring_ids)
RETURN a.id AS applicant_id, s.score AS score, s.band AS band, s.ring_id AS ring_id, s.reasons AS reasons
