// name: store/create_applications
// description: Create new applications (checked absent first), creating their applicants as needed; an applicant's consents become those of its newest application that states them (of two stated at the same time, the one granting less).
// parameters: $rows (list of maps: key, applicant_id, applied_at, digest, properties, consents)
// returns: nothing
UNWIND $rows AS row
MERGE (a:Applicant {id: row.applicant_id})
CREATE (a)-[:APPLIED]->(:Application {key: row.key, applied_at: row.applied_at, digest: row.digest,
                                      properties: row.properties})
WITH a, row
WHERE row.consents IS NOT NULL AND (a.consents_at IS NULL OR a.consents_at < row.applied_at
      OR (a.consents_at = row.applied_at AND a.consents > row.consents))
SET a.consents = row.consents, a.consents_at = row.applied_at
