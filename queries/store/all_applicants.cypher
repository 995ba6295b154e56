// name: store/all_applicants
// description: Every applicant id (the projection's node list).
// parameters: none
// returns: id
MATCH (a:Applicant)
RETURN a.id AS id
ORDER BY id
