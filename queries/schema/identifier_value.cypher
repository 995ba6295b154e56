// name: schema/identifier_value
// description: Investigators look identifiers up by kind and value.
// parameters: none
// returns: nothing
CREATE INDEX identifier_value IF NOT EXISTS FOR (i:Identifier) ON (i.kind, i.value)
