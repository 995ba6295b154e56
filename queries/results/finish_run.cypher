// name: results/finish_run
// description: The run's timings, with the time its write took, set last.
// parameters: $run_id (string), $timings (JSON text)
// returns: nothing
MATCH (r:Run {run_id: $run_id})
SET r.timings = $timings
