// name: investigate/paths_between
// description: The shortest connections between two applicants through shared identifiers and relations (six steps at most), at most $paths of them.
// parameters: $source (string), $target (string), $paths (integer)
// returns: path (node names), hops
MATCH p = SHORTEST 5 (a:Applicant {id: $source})-[:HAS|RELATED]-{1,6}(b:Applicant {id: $target})
RETURN [n IN nodes(p) | CASE WHEN n:Applicant THEN 'applicant:' + n.id ELSE n.kind + ':' + n.value END] AS path,
       length(p) AS hops
ORDER BY hops
LIMIT $paths
