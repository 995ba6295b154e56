// name: store/rejects
// description: Rejected rows recorded for a file read as a table.
// parameters: $checksum (string), $table (string)
// returns: file, row, column, reason, detail
MATCH (r:Reject {checksum: $checksum, table: $table})
RETURN r.file AS file, r.row AS row, r.column AS `column`, r.reason AS reason, r.detail AS detail
ORDER BY row, `column`
