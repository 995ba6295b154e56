// name: store/all_applicants
// description: Every applicant id in id order (the projection's node list), as one list in one record.
// parameters: none
// returns: ids (list)
MATCH (a:Applicant)
WITH a.id AS id
ORDER BY id
RETURN collect(id) AS ids
