// name: store/merge_applicants
// description: Create applicants, or update their properties (idempotent).
// parameters: $rows (list of maps: id, properties)
// returns: nothing
UNWIND $rows AS row
MERGE (a:Applicant {id: row.id})
SET a.properties = coalesce(row.properties, a.properties)
