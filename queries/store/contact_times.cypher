// name: store/contact_times
// description: When identifiers were listed as contacts, one row per contact link known at $as_of.
// parameters: $refs (list of identifier refs), $as_of (integer seconds or null)
// returns: ref, first_seen
UNWIND $refs AS ref
MATCH (:Applicant)-[l:HAS {role: 'contact'}]->(i:Identifier {ref: ref})
WHERE $as_of IS NULL OR l.first_seen IS NULL OR l.first_seen <= $as_of
RETURN i.ref AS ref, l.first_seen AS first_seen
