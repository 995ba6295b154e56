// name: investigate/evidence_path_to_fraud
// description: The shortest path from an applicant to an applicant with a confirmed fraud outcome through shared identifiers and relations, never through an identifier held by more than $max_degree applicants (a hub).
// parameters: $applicant_id (string), $max_degree (integer)
// returns: path (node names), hops
MATCH p = SHORTEST 1 (a:Applicant {id: $applicant_id})-[:HAS|RELATED]-{1,8}(f:Applicant)
WHERE f <> a AND EXISTS { (f)-[:HAD]->(:Outcome {outcome: 'fraud'}) }
  AND all(n IN nodes(p) WHERE NOT n:Identifier OR COUNT { (n)<-[:HAS]-(:Applicant) } <= $max_degree)
RETURN [n IN nodes(p) | CASE WHEN n:Applicant THEN 'applicant:' + n.id ELSE n.kind + ':' + n.value END] AS path,
       length(p) AS hops
