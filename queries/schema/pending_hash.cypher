// name: schema/pending_hash
// description: Facts waiting for their applicant are unique by the fact's hash.
// parameters: none
// returns: nothing
CREATE CONSTRAINT pending_hash IF NOT EXISTS FOR (p:Pending) REQUIRE p.hash IS UNIQUE
