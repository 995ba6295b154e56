// name: results/runs
// description: Re-score runs, newest first.
// parameters: $limit (integer)
// returns: run_id, created_at, as_of, seed, params, timings, counts
MATCH (r:Run)
RETURN r.run_id AS run_id, r.created_at AS created_at, r.as_of AS as_of, r.seed AS seed,
       r.params AS params, r.timings AS timings, r.counts AS counts
ORDER BY created_at DESC, run_id DESC
LIMIT $limit
