// name: store/any_pending
// description: Whether any fact waits for its applicant (read from the count store).
// parameters: none
// returns: n
MATCH (p:Pending)
RETURN count(p) AS n
