// name: store/forget_reasons
// description: Rewrite, in every run's scores, the reasons that name an erased person or one of their removed values; returns how many rewrites.
// parameters: $replacements (list of maps: old, new)
// returns: rewritten
UNWIND $replacements AS r
MATCH (:Run)-[s:SCORED]->(:Applicant)
WHERE s.reasons CONTAINS r.old
SET s.reasons = replace(s.reasons, r.old, r.new)
RETURN count(*) AS rewritten
