// name: store/all_applications
// description: Every application made by $as_of.
// parameters: $as_of (integer seconds or null)
// returns: applicant_id, applied_at
MATCH (a:Applicant)-[:APPLIED]->(p:Application)
WHERE $as_of IS NULL OR p.applied_at <= $as_of
RETURN a.id AS applicant_id, p.applied_at AS applied_at
