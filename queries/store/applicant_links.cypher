// name: store/applicant_links
// description: Links of the given applicants, with each applicant's stated consents.
// parameters: $ids (list of applicant ids)
// returns: applicant_id, kind, value, role, relation, first_seen, last_seen, count, name, source, consents
UNWIND $ids AS id
MATCH (a:Applicant {id: id})-[l:HAS]->(i:Identifier)
RETURN a.id AS applicant_id, i.kind AS kind, i.value AS value, l.role AS role, l.relation AS relation,
       l.first_seen AS first_seen, l.last_seen AS last_seen, l.count AS `count`, l.name AS name,
       l.source AS source, a.consents AS consents
