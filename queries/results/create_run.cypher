// name: results/create_run
// description: The record of a re-score run (policy, timings and counts as JSON text).
// parameters: $run (map: run_id, created_at, as_of, seed, params, timings, counts)
// returns: nothing
CREATE (r:Run)
SET r = $run
