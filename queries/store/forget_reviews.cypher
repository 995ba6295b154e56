// name: store/forget_reviews
// description: Erase the review requests of an erased applicant (they hold the person's words); returns how many.
// parameters: $id (applicant id)
// returns: removed
MATCH (r:Review {applicant_id: $id})
DELETE r
RETURN count(*) AS removed
