// name: investigate/skiptrace_candidates
// description: Phones that may reach a lost-contact borrower: own phones used on the borrower's devices by others (own channel), contacts the borrower declared and people who listed the borrower's phone (third parties: ask for the borrower only). Hubs (more than $max_degree holders) are not crossed.
// parameters: $applicant_id (string), $max_degree (integer)
// returns: phone, channel, via, last_seen
MATCH (b:Applicant {id: $applicant_id})
CALL (b) {
  MATCH (b)-[:HAS {role: 'own'}]->(d:Device)<-[:HAS {role: 'own'}]-(o:Applicant)-[l:HAS {role: 'own'}]->(p:Phone)
  WHERE o <> b AND COUNT { (d)<-[:HAS]-(:Applicant) } <= $max_degree
  RETURN p.value AS phone, 'same_device' AS channel, o.id AS via, l.last_seen AS last_seen
  UNION
  MATCH (b)-[l:HAS {role: 'contact'}]->(p:Phone)
  RETURN p.value AS phone, 'declared_contact' AS channel, l.relation AS via, l.last_seen AS last_seen
  UNION
  MATCH (b)-[:HAS {role: 'own'}]->(:Phone)<-[l:HAS {role: 'contact'}]-(c:Applicant)-[:HAS {role: 'own'}]->(p:Phone)
  WHERE c <> b
  RETURN p.value AS phone, 'reverse_contact' AS channel, c.id AS via, l.last_seen AS last_seen
}
RETURN phone, channel, via, last_seen
ORDER BY channel DESC, last_seen DESC
