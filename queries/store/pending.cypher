// name: store/pending
// description: Facts waiting for their applicant, by table, with when the oldest was kept.
// parameters: none
// returns: table, rows, oldest
MATCH (p:Pending)
RETURN p.table AS table, count(*) AS rows, min(p.since) AS oldest
ORDER BY table
