// name: results/record_review
// description: Store a request for human review of an automated decision.
// parameters: $entry (map: review_id, applicant_id, application_id, requested_at, requested_by, reason, status, closed_at, closed_by, outcome, note)
// returns: nothing
CREATE (r:Review)
SET r = $entry
