// name: store/known_applicants
// description: Stored applicants among the given ids, with their properties.
// parameters: $ids (list of applicant ids)
// returns: id, properties
UNWIND $ids AS id
MATCH (a:Applicant {id: id})
RETURN a.id AS id, a.properties AS properties
