// name: store/record_rejects
// description: Rejected rows of a batch with their reasons.
// parameters: $rows (list of maps: checksum, table, file, row, column, reason, detail)
// returns: nothing
UNWIND $rows AS row
CREATE (r:Reject)
SET r = row
