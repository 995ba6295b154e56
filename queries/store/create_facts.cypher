// name: store/create_facts
// description: Remember applied contact or sighting rows by hash.
// parameters: $rows (list of maps: hash, table)
// returns: nothing
UNWIND $rows AS row
CREATE (:Fact {hash: row.hash, table: row.table})
