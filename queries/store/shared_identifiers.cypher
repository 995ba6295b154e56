// name: store/shared_identifiers
// description: Identifiers of a kind held by at least $min_degree applicants, with how many holders have a fraud outcome.
// parameters: $kind (string), $min_degree (integer)
// returns: kind, value, degree, fraud
MATCH (a:Applicant)-[:HAS]->(i:Identifier {kind: $kind})
WITH i, a, EXISTS { (a)-[:HAD]->(:Outcome {outcome: 'fraud'}) } AS fraudulent
WITH i, count(DISTINCT a) AS degree, count(DISTINCT CASE WHEN fraudulent THEN a END) AS fraud
WHERE degree >= $min_degree
RETURN i.kind AS kind, i.value AS value, degree, fraud
ORDER BY degree DESC, value
