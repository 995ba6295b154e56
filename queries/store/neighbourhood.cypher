// name: store/neighbourhood
// description: Bounded neighbourhood for online scoring: the given identifiers and those the given applicants already have, each with its degree counted up to $limit, and its holders when below (with the link's contact source and the holder's stated consents); at the limit, only the given applicants' own links to it.
// parameters: $applicant_ids (list of applicant ids), $refs (list of identifier refs), $limit (integer)
// returns: kind, value, degree, holder, role, relation, first_seen, source, consents
CALL () {
  UNWIND $refs AS ref
  MATCH (i:Identifier {ref: ref})
  RETURN i
  UNION
  UNWIND $applicant_ids AS id
  MATCH (:Applicant {id: id})-[:HAS]->(i:Identifier)
  RETURN i
}
WITH i, COUNT { MATCH (i)<-[:HAS]-(a:Applicant) WITH DISTINCT a LIMIT $limit RETURN a } AS degree
CALL (i, degree) {
  OPTIONAL MATCH (i)<-[l:HAS]-(a:Applicant)
    WHERE degree < $limit
  RETURN l, a
  UNION
  // a hub's holders are counted, not fetched; the given applicants' own links to it still come
  UNWIND $applicant_ids AS id
  MATCH (a:Applicant {id: id})-[l:HAS]->(i)
    WHERE degree >= $limit
  RETURN l, a
}
RETURN i.kind AS kind, i.value AS value, degree, a.id AS holder, l.role AS role, l.relation AS relation,
       l.first_seen AS first_seen, l.source AS source, a.consents AS consents
ORDER BY kind, value, holder
