// name: results/close_review
// description: Close an open review with its outcome and note; returns the review closed (none when no open review has the id).
// parameters: $review_id (string), $closed (map: closed_at, closed_by, outcome, note)
// returns: review_id
MATCH (r:Review {review_id: $review_id, status: 'open'})
SET r += $closed, r.status = 'closed'
RETURN r.review_id AS review_id
