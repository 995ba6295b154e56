// name: store/applicants
// description: Applicants with their properties, number of applications and distinct outcomes.
// parameters: $ids (list of applicant ids)
// returns: applicant_id, properties, applications, outcomes (list)
UNWIND $ids AS id
MATCH (a:Applicant {id: id})
RETURN a.id AS applicant_id, a.properties AS properties,
       COUNT { (a)-[:APPLIED]->(:Application) } AS applications,
       COLLECT { MATCH (a)-[:HAD]->(o:Outcome) RETURN DISTINCT o.outcome } AS outcomes
