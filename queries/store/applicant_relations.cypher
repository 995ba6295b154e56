// name: store/applicant_relations
// description: Relations (transfers, referrals ...) to or from the given applicants, oldest first (undated last).
// parameters: $ids (list of applicant ids)
// returns: src_applicant_id, dst_applicant_id, type, at, amount
UNWIND $ids AS id
MATCH (a:Applicant {id: id})
CALL (a) {
  MATCH (a)-[r:RELATED]->(b:Applicant)
  RETURN a.id AS src, b.id AS dst, r
  UNION
  MATCH (b:Applicant)-[r:RELATED]->(a)
  RETURN b.id AS src, a.id AS dst, r
}
WITH DISTINCT src, dst, r
RETURN src AS src_applicant_id, dst AS dst_applicant_id, r.type AS type, r.at AS at, r.amount AS amount
ORDER BY at, r.hash
