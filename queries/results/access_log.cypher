// name: results/access_log
// description: The newest audit entries, optionally those naming $subject.
// parameters: $subject (string or null), $limit (integer)
// returns: seq, at, caller, role, route, method, status, subjects, purpose, reason, revealed
MATCH (x:Access)
WHERE $subject IS NULL OR $subject IN x.subjects
RETURN x.seq AS seq, x.at AS at, x.caller AS caller, x.role AS role, x.route AS route, x.method AS method,
       x.status AS status, x.subjects AS subjects, x.purpose AS purpose, x.reason AS reason,
       x.revealed AS revealed
ORDER BY seq DESC
LIMIT $limit
