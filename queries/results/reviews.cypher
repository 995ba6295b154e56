// name: results/reviews
// description: Requests for human review, newest first, filtered by status, applicant or id when given.
// parameters: $status (string or null), $applicant_id (string or null), $review_id (string or null)
// returns: review_id, applicant_id, application_id, requested_at, requested_by, reason, status, closed_at, closed_by, outcome, note
MATCH (r:Review)
WHERE ($status IS NULL OR r.status = $status) AND ($applicant_id IS NULL OR r.applicant_id = $applicant_id)
  AND ($review_id IS NULL OR r.review_id = $review_id)
RETURN r.review_id AS review_id, r.applicant_id AS applicant_id, r.application_id AS application_id,
       r.requested_at AS requested_at, r.requested_by AS requested_by, r.reason AS reason, r.status AS status,
       r.closed_at AS closed_at, r.closed_by AS closed_by, r.outcome AS outcome, r.note AS note
ORDER BY requested_at DESC, review_id
