// name: store/known_outcomes
// description: Outcomes already stored, among the given hashes.
// parameters: $hashes (list of integers)
// returns: hash
UNWIND $hashes AS hash
MATCH (o:Outcome {hash: hash})
RETURN o.hash AS hash
