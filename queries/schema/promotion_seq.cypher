// name: schema/promotion_seq
// description: Promotion log entries are ordered by their sequence number.
// parameters: none
// returns: nothing
CREATE INDEX promotion_seq IF NOT EXISTS FOR (p:Promotion) ON (p.seq)
