// name: results/write_rings
// description: Rings of a run (features as JSON text).
// parameters: $run_id (string), $rows (list of maps: ring_id, size, risk, fraud, default, features)
// returns: nothing
MATCH (r:Run {run_id: $run_id})
UNWIND $rows AS row
CREATE (r)-[:FOUND]->(:Ring {run_id: $run_id, ring_id: row.ring_id, size: row.size, risk: row.risk,
                            fraud: row.fraud, `default`: row.`default`, features: row.features})
