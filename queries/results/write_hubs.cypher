// name: results/write_hubs
// description: Hub identifiers a run reported, as HUB relationships from the run.
// parameters: $run_id (string), $rows (list of maps: ref, role, degree, fraud, fraud_share, verdict)
// returns: nothing
MATCH (r:Run {run_id: $run_id})
UNWIND $rows AS row
MATCH (i:Identifier {ref: row.ref})
CREATE (r)-[:HUB {role: row.role, degree: row.degree, fraud: row.fraud, fraud_share: row.fraud_share,
                  verdict: row.verdict}]->(i)
