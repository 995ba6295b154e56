// name: results/rings
// description: Rings of a run, optionally some only (null: all).
// parameters: $run_id (string), $ring_ids (list or null)
// returns: ring_id, size, risk, fraud, default, features
MATCH (:Run {run_id: $run_id})-[:FOUND]->(g:Ring)
WHERE $ring_ids IS NULL OR g.ring_id IN $ring_ids
RETURN g.ring_id AS ring_id, g.size AS size, g.risk AS risk, g.fraud AS fraud, g.`default` AS `default`,
       g.features AS features
