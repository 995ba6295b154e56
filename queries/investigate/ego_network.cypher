// name: investigate/ego_network
// description: An applicant's identifiers and who else holds each, hubs (more than $max_degree holders) listed without their holders.
// parameters: $applicant_id (string), $max_degree (integer)
// returns: kind, value, role, relation, degree, neighbours
MATCH (a:Applicant {id: $applicant_id})-[l:HAS]->(i:Identifier)
WITH a, l, i, COUNT { (i)<-[:HAS]-(:Applicant) } AS degree
OPTIONAL MATCH (i)<-[:HAS]-(b:Applicant)
  WHERE b <> a AND degree <= $max_degree
RETURN i.kind AS kind, i.value AS value, l.role AS role, l.relation AS relation, degree,
       collect(DISTINCT b.id) AS neighbours
ORDER BY kind, value
