// name: store/identifier_links
// description: Links of the given identifiers, with each holder's stated consents.
// parameters: $refs (list of identifier refs)
// returns: applicant_id, kind, value, role, relation, first_seen, last_seen, count, name, source, consents
UNWIND $refs AS ref
MATCH (a:Applicant)-[l:HAS]->(i:Identifier {ref: ref})
RETURN a.id AS applicant_id, i.kind AS kind, i.value AS value, l.role AS role, l.relation AS relation,
       l.first_seen AS first_seen, l.last_seen AS last_seen, l.count AS `count`, l.name AS name,
       l.source AS source, a.consents AS consents
