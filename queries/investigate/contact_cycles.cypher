// name: investigate/contact_cycles
// description: Applicants who list each other's own phones as contacts: pairs (two-cycles) and triangles (three-cycles), a mark of synthetic identities built together.
// parameters: $limit (integer)
// returns: length, applicants
CALL () {
  MATCH (a:Applicant)-[:HAS {role: 'contact'}]->(:Phone)<-[:HAS {role: 'own'}]-(b:Applicant),
        (b)-[:HAS {role: 'contact'}]->(:Phone)<-[:HAS {role: 'own'}]-(a)
  WHERE a.id < b.id
  RETURN DISTINCT 2 AS length, [a.id, b.id] AS applicants
  UNION
  MATCH (a:Applicant)-[:HAS {role: 'contact'}]->(:Phone)<-[:HAS {role: 'own'}]-(b:Applicant),
        (b)-[:HAS {role: 'contact'}]->(:Phone)<-[:HAS {role: 'own'}]-(c:Applicant),
        (c)-[:HAS {role: 'contact'}]->(:Phone)<-[:HAS {role: 'own'}]-(a)
  WHERE a.id < b.id AND a.id < c.id AND b <> c
  RETURN DISTINCT 3 AS length, [a.id, b.id, c.id] AS applicants
}
RETURN length, applicants
ORDER BY length, applicants
LIMIT $limit
