// name: schema/tombstone_digest
// description: What erased people left is kept as tombstones, unique by their keyed digest.
// parameters: none
// returns: nothing
CREATE CONSTRAINT tombstone_digest IF NOT EXISTS FOR (t:Tombstone) REQUIRE t.digest IS UNIQUE
