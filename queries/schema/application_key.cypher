// name: schema/application_key
// description: Applications are unique by application_id.
// parameters: none
// returns: nothing
CREATE CONSTRAINT application_key IF NOT EXISTS FOR (p:Application) REQUIRE p.key IS UNIQUE
