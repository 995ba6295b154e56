// name: schema/pending_waiting
// description: Facts waiting for their applicant are found by the applicant id they wait for.
// parameters: none
// returns: nothing
CREATE INDEX pending_waiting IF NOT EXISTS FOR (p:Pending) ON (p.waiting)
