// name: store/tombstoned
// description: Those of the given digests that are tombstones.
// parameters: $digests (list of digests)
// returns: digest
UNWIND $digests AS d
MATCH (t:Tombstone {digest: d})
RETURN t.digest AS digest
