// name: store/forget_applicant
// description: Erase one applicant: its applications, outcomes, links, relations, scores and ring memberships go with it; returns how many of each.
// parameters: $id (applicant id)
// returns: applications, outcomes, links, relations, scores, memberships
MATCH (a:Applicant {id: $id})
OPTIONAL MATCH (a)-[:APPLIED|HAD]->(fact)
WITH a, collect(fact) AS facts,
     COUNT { (a)-[:APPLIED]->() } AS applications, COUNT { (a)-[:HAD]->() } AS outcomes,
     COUNT { (a)-[:HAS]->() } AS links, COUNT { (a)-[:RELATED]-() } AS relations,
     COUNT { ()-[:SCORED]->(a) } AS scores, COUNT { ()-[:MEMBER]->(a) } AS memberships
FOREACH (fact IN facts | DETACH DELETE fact)
DETACH DELETE a
RETURN applications, outcomes, links, relations, scores, memberships
