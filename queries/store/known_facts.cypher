// name: store/known_facts
// description: Contact and sighting rows already applied, among the given hashes.
// parameters: $hashes (list of integers)
// returns: hash
UNWIND $hashes AS hash
MATCH (f:Fact {hash: hash})
RETURN f.hash AS hash
