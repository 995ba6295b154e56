// name: store/forget_pending
// description: Erase the pending facts waiting for an applicant or holding one of the given JSON-quoted values; returns how many.
// parameters: $id (applicant id), $values (list of JSON-quoted strings)
// returns: removed
MATCH (p:Pending)
WHERE p.waiting = $id OR any(value IN $values WHERE p.body CONTAINS value)
DELETE p
RETURN count(*) AS removed
