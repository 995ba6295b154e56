// name: store/all_links
// description: Every applicant-identifier link known at $as_of (undated links always count; null means now), one record per applicant with its links as parallel lists; an undated link's first_seen is $undated; source is the contact source's code in $source_codes (0 when not stated).
// parameters: $as_of (integer seconds or null), $undated (integer), $source_codes (map: contact source name to integer code)
// returns: applicant_id, refs (list), contact (list), first_seen (list), source (list)
MATCH (a:Applicant)-[l:HAS]->(i:Identifier)
WHERE $as_of IS NULL OR l.first_seen IS NULL OR l.first_seen <= $as_of
WITH a, collect(i.ref) AS refs, collect(l.role = 'contact') AS contact,
     collect(coalesce(l.first_seen, $undated)) AS first_seen,
     collect(CASE WHEN l.source IS NULL THEN 0 ELSE coalesce($source_codes[l.source], 0) END) AS source
RETURN a.id AS applicant_id, refs, contact, first_seen, source
