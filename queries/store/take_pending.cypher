// name: store/take_pending
// description: Remove and return the facts waiting for the given applicants (stored in this transaction).
// parameters: $ids (list of applicant ids)
// returns: table, since, body
UNWIND $ids AS id
MATCH (p:Pending {waiting: id})
WITH p, p.table AS table, p.since AS since, p.body AS body
DELETE p
RETURN table, since, body
