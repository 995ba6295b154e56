// name: schema/batch_key
// description: One manifest entry per applied batch.
// parameters: none
// returns: nothing
CREATE CONSTRAINT batch_key IF NOT EXISTS FOR (b:Batch) REQUIRE (b.checksum, b.table, b.start_row) IS UNIQUE
