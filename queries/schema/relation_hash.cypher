// name: schema/relation_hash
// description: Applicant relations are found by the hash of their natural key.
// parameters: none
// returns: nothing
CREATE INDEX relation_hash IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.hash)
