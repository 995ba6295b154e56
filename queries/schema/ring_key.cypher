// name: schema/ring_key
// description: Rings are unique within a run.
// parameters: none
// returns: nothing
CREATE CONSTRAINT ring_key IF NOT EXISTS FOR (g:Ring) REQUIRE (g.run_id, g.ring_id) IS UNIQUE
