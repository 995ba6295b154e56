// name: store/tombstones
// description: Every tombstone digest, as one list in one record.
// parameters: none
// returns: digests (list)
MATCH (t:Tombstone)
RETURN collect(t.digest) AS digests
