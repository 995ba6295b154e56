// name: store/keep_pending
// description: Keep facts whose applicant is not stored yet (the validated row as JSON), once per fact hash.
// parameters: $rows (list of maps: hash, table, waiting, since, body)
// returns: kept (rows not kept before)
UNWIND $rows AS row
OPTIONAL MATCH (old:Pending {hash: row.hash})
WITH row, old
WHERE old IS NULL
CREATE (:Pending {hash: row.hash, table: row.table, waiting: row.waiting, since: row.since, body: row.body})
RETURN count(*) AS kept
