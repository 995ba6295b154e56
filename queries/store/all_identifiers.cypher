// name: store/all_identifiers
// description: Every identifier's ref and kind in ref order (the projection's second node list), as two lists in one record.
// parameters: none
// returns: refs (list), kinds (list)
MATCH (i:Identifier)
WITH i.ref AS ref, i.kind AS kind
ORDER BY ref
RETURN collect(ref) AS refs, collect(kind) AS kinds
