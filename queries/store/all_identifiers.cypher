// name: store/all_identifiers
// description: Every identifier's ref and kind (the projection's second node list).
// parameters: none
// returns: ref, kind
MATCH (i:Identifier)
RETURN i.ref AS ref, i.kind AS kind
ORDER BY ref
