// name: schema/applicant_id
// description: Applicants are unique by their id.
// parameters: none
// returns: nothing
CREATE CONSTRAINT applicant_id IF NOT EXISTS FOR (a:Applicant) REQUIRE a.id IS UNIQUE
