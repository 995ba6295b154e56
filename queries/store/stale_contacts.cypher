// name: store/stale_contacts
// description: Contact links from a source (null: not stated) last seen before a time (undated ones never), oldest first.
// parameters: $source (contact source or null), $before (integer seconds)
// returns: applicant_id, value, last_seen
MATCH (a:Applicant)-[l:HAS {role: 'contact'}]->(i:Identifier)
WHERE l.last_seen < $before AND (($source IS NULL AND l.source IS NULL) OR l.source = $source)
RETURN a.id AS applicant_id, i.value AS value, l.last_seen AS last_seen
ORDER BY last_seen, applicant_id, value
