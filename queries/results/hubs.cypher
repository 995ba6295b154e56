// name: results/hubs
// description: Hubs a run reported.
// parameters: $run_id (string)
// returns: kind, value, role, degree, fraud, fraud_share, verdict
MATCH (:Run {run_id: $run_id})-[h:HUB]->(i:Identifier)
RETURN i.kind AS kind, i.value AS value, h.role AS role, h.degree AS degree, h.fraud AS fraud,
       h.fraud_share AS fraud_share, h.verdict AS verdict
