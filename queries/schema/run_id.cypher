// name: schema/run_id
// description: Re-score runs are unique by run_id.
// parameters: none
// returns: nothing
CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.run_id IS UNIQUE
