// name: store/timelines
// description: Outcomes and applications of the given applicants, with their times (online scoring).
// parameters: $ids (list of applicant ids)
// returns: applicant_id, event, what, at
CALL () {
  UNWIND $ids AS id
  MATCH (a:Applicant {id: id})-[:HAD]->(o:Outcome)
  RETURN a.id AS applicant_id, 'outcome' AS event, o.outcome AS what, o.observed_at AS at
  UNION ALL
  UNWIND $ids AS id
  MATCH (a:Applicant {id: id})-[:APPLIED]->(p:Application)
  RETURN a.id AS applicant_id, 'application' AS event, null AS what, p.applied_at AS at
}
RETURN applicant_id, event, what, at
ORDER BY applicant_id, event, at
