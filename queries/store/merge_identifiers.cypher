// name: store/merge_identifiers
// description: Create identifiers by ref (kind label from the allow-list) and return what is stored, so a caller can tell a hash collision.
// parameters: $rows (list of maps: ref, kind, value, label)
// returns: ref, kind, value
UNWIND $rows AS row
MERGE (i:Identifier {ref: row.ref})
  ON CREATE SET i.kind = row.kind, i.value = row.value
SET i:$(row.label)
RETURN i.ref AS ref, i.kind AS kind, i.value AS value
