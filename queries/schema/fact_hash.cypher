// name: schema/fact_hash
// description: Contact and sighting rows already applied, by the hash of their natural key.
// parameters: none
// returns: nothing
CREATE CONSTRAINT fact_hash IF NOT EXISTS FOR (f:Fact) REQUIRE f.hash IS UNIQUE
