// name: results/record_access
// description: Append one entry to the audit trail of personal-data access.
// parameters: $entry (map: seq, at, caller, role, route, method, status, subjects, purpose, reason, revealed)
// returns: nothing
CREATE (x:Access)
SET x = $entry
