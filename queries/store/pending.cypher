// name: store/pending
// description: Facts waiting for their applicant, by table, with when the oldest was kept.
// parameters: none
// returns: table, rows, oldest
MATCH (p:Pending)
WITH p.table AS table, p.since AS since
ORDER BY since
RETURN table, count(*) AS rows, collect(since)[0] AS oldest
ORDER BY table
