// name: results/promotions
// description: The promotion log, newest first.
// parameters: none
// returns: at, run_id, action, reason, replaces
MATCH (p:Promotion)
RETURN p.at AS at, p.run_id AS run_id, p.action AS action, p.reason AS reason, p.replaces AS replaces
ORDER BY p.seq DESC
