// name: results/served_run
// description: The run of the newest promote or rollback entry of the promotion log, and whether the log has any entry.
// parameters: $serving (list of actions that serve their run)
// returns: logged, run_id, created_at, as_of, seed, params, timings, counts
OPTIONAL MATCH (any:Promotion)
WITH count(any) AS logged
OPTIONAL MATCH (p:Promotion)
WHERE p.action IN $serving
WITH logged, p
ORDER BY p.seq DESC
LIMIT 1
OPTIONAL MATCH (r:Run {run_id: p.run_id})
RETURN logged, r.run_id AS run_id, r.created_at AS created_at, r.as_of AS as_of, r.seed AS seed,
       r.params AS params, r.timings AS timings, r.counts AS counts
