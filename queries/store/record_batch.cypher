// name: store/record_batch
// description: The manifest entry of an applied batch, written in the batch's transaction.
// parameters: $batch (map: checksum, table, start_row, end_row, source, file, rows_read, loaded, duplicates, rejected, loaded_at)
// returns: nothing
CREATE (b:Batch)
SET b = $batch
