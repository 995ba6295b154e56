// name: store/all_applications
// description: Every application made by $as_of (null means now), one record per applicant with its application times as a list.
// parameters: $as_of (integer seconds or null)
// returns: applicant_id, applied_at (list)
MATCH (a:Applicant)-[:APPLIED]->(p:Application)
WHERE $as_of IS NULL OR p.applied_at <= $as_of
WITH a, collect(p.applied_at) AS applied_at
RETURN a.id AS applicant_id, applied_at
