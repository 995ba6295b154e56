// name: store/all_links
// description: Every applicant-identifier link known at $as_of (undated links always count); null means now.
// parameters: $as_of (integer seconds or null)
// returns: applicant_id, ref, contact, first_seen
MATCH (a:Applicant)-[l:HAS]->(i:Identifier)
WHERE $as_of IS NULL OR l.first_seen IS NULL OR l.first_seen <= $as_of
RETURN a.id AS applicant_id, i.ref AS ref, l.role = 'contact' AS contact, l.first_seen AS first_seen
