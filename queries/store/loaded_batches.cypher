// name: store/loaded_batches
// description: Manifest entries of a file read as a table.
// parameters: $checksum (string), $table (string)
// returns: checksum, tbl, start_row, end_row, source, file, rows_read, loaded, duplicates, rejected, loaded_at
MATCH (b:Batch {checksum: $checksum, table: $table})
RETURN b.checksum AS checksum, b.table AS tbl, b.start_row AS start_row, b.end_row AS end_row,
       b.source AS source, b.file AS file, b.rows_read AS rows_read, b.loaded AS loaded,
       b.duplicates AS duplicates, b.rejected AS rejected, b.loaded_at AS loaded_at
ORDER BY start_row
