// name: schema/outcome_hash
// description: Outcomes are unique by the hash of their natural key.
// parameters: none
// returns: nothing
CREATE CONSTRAINT outcome_hash IF NOT EXISTS FOR (o:Outcome) REQUIRE o.hash IS UNIQUE
