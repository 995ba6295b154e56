// name: store/application_digests
// description: Stored applications among the given application ids: applicant, date and content digest.
// parameters: $keys (list of application ids)
// returns: key, applicant_id, applied_at, digest
UNWIND $keys AS key
MATCH (a:Applicant)-[:APPLIED]->(p:Application {key: key})
RETURN p.key AS key, a.id AS applicant_id, p.applied_at AS applied_at, p.digest AS digest
