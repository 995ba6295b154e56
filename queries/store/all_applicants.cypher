// name: store/all_applicants
// description: Every applicant id in id order (the projection's node list), as one list in one record, with the consents each applicant stated ("-" when never: lists hold no nulls) as a parallel list.
// parameters: none
// returns: ids (list), consents (list)
MATCH (a:Applicant)
WITH a.id AS id, a.consents AS consents
ORDER BY id
RETURN collect(id) AS ids, collect(coalesce(consents, '-')) AS consents
