// name: schema/access_at
// description: The audit trail is read newest first.
// parameters: none
// returns: nothing
CREATE INDEX access_at IF NOT EXISTS FOR (x:Access) ON (x.at)
