// name: store/all_relations
// description: Every applicant relation known at $as_of (undated ones always count).
// parameters: $as_of (integer seconds or null)
// returns: src, dst, type, at
MATCH (s:Applicant)-[r:RELATED]->(d:Applicant)
WHERE $as_of IS NULL OR r.at IS NULL OR r.at <= $as_of
RETURN s.id AS src, d.id AS dst, r.type AS type, r.at AS at
