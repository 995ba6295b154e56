// name: schema/reject_checksum
// description: Rejected rows are read back by file checksum and table.
// parameters: none
// returns: nothing
CREATE INDEX reject_checksum IF NOT EXISTS FOR (r:Reject) ON (r.checksum, r.table)
