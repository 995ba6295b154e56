// name: results/run_exists
// description: The run's id when it exists.
// parameters: $run_id (string)
// returns: run_id
MATCH (r:Run {run_id: $run_id})
RETURN r.run_id AS run_id
