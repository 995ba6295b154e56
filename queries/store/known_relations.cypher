// name: store/known_relations
// description: Applicant relations already stored, among the given hashes.
// parameters: $hashes (list of integers)
// returns: hash
UNWIND $hashes AS hash
MATCH ()-[r:RELATED {hash: hash}]->()
RETURN r.hash AS hash
