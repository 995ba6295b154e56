// name: store/identifier_values
// description: Kind and value of identifiers by ref.
// parameters: $refs (list of identifier refs)
// returns: ref, kind, value
UNWIND $refs AS ref
MATCH (i:Identifier {ref: ref})
RETURN i.ref AS ref, i.kind AS kind, i.value AS value
