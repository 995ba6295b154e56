// name: store/create_applications
// description: Create new applications (checked absent first), creating their applicants as needed.
// parameters: $rows (list of maps: key, applicant_id, applied_at, digest, properties)
// returns: nothing
UNWIND $rows AS row
MERGE (a:Applicant {id: row.applicant_id})
CREATE (a)-[:APPLIED]->(:Application {key: row.key, applied_at: row.applied_at, digest: row.digest,
                                      properties: row.properties})
