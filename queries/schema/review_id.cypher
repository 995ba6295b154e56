// name: schema/review_id
// description: Requests for human review are unique by their id.
// parameters: none
// returns: nothing
CREATE CONSTRAINT review_id IF NOT EXISTS FOR (r:Review) REQUIRE r.review_id IS UNIQUE
