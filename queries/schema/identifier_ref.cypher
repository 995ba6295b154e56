// name: schema/identifier_ref
// description: Identifiers are unique by ref, the 63-bit key of their kind and normalised value.
// parameters: none
// returns: nothing
CREATE CONSTRAINT identifier_ref IF NOT EXISTS FOR (i:Identifier) REQUIRE i.ref IS UNIQUE
