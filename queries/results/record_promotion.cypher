// name: results/record_promotion
// description: Append one entry to the promotion log (which run is served, and why).
// parameters: $entry (map: seq, at, run_id, action, reason, replaces)
// returns: nothing
CREATE (p:Promotion)
SET p = $entry
