// name: store/record_tombstones
// description: Keep the tombstones of an erasure (keyed digests, never values).
// parameters: $rows (list of maps: digest, what, at)
// returns: nothing
UNWIND $rows AS row
MERGE (t:Tombstone {digest: row.digest})
  ON CREATE SET t.what = row.what, t.at = row.at
