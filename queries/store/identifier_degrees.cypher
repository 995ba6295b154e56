// name: store/identifier_degrees
// description: Distinct holders per identifier, counted up to $limit only, so a hub costs no more than a rare value.
// parameters: $refs (list of identifier refs), $limit (integer)
// returns: kind, value, degree
UNWIND $refs AS ref
MATCH (i:Identifier {ref: ref})
RETURN i.kind AS kind, i.value AS value,
       COUNT { MATCH (i)<-[:HAS]-(a:Applicant) WITH DISTINCT a LIMIT $limit RETURN a } AS degree
