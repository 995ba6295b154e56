// name: store/create_relations
// description: Create new applicant-to-applicant relations (transfers, referrals ...).
// parameters: $rows (list of maps: hash, src, dst, type, at, amount)
// returns: nothing
UNWIND $rows AS row
MATCH (s:Applicant {id: row.src})
MATCH (d:Applicant {id: row.dst})
CREATE (s)-[:RELATED {hash: row.hash, type: row.type, at: row.at, amount: row.amount}]->(d)
