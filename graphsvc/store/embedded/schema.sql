-- Embedded store of record (SQLite, WAL). Every row gets a sequential id, so new rows
-- and their links append to the end of each tree; facts and identifiers also carry a
-- 63-bit hash of their natural key (graphsvc/ingest/keys.py) under a compact unique index,
-- which is what makes re-loading a row a no-op.
-- Timestamps are integer seconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applicants (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    properties  TEXT,
    consents    TEXT,    -- the consent scopes of the newest application that stated them ('' = none)
    consents_at INTEGER  -- that application's applied_at
);
CREATE TABLE IF NOT EXISTS applications (
    id         INTEGER PRIMARY KEY,
    hash       INTEGER NOT NULL UNIQUE,
    key        TEXT NOT NULL,
    applicant  INTEGER NOT NULL,
    applied_at INTEGER NOT NULL,
    digest     INTEGER NOT NULL,
    properties TEXT
);
CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications (applicant);
CREATE TABLE IF NOT EXISTS identifiers (
    id    INTEGER PRIMARY KEY,
    hash  INTEGER NOT NULL UNIQUE,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL
);
-- One row per (applicant, identifier, role, relation): how often and when it was seen.
CREATE TABLE IF NOT EXISTS links (
    applicant  INTEGER NOT NULL,
    identifier INTEGER NOT NULL,
    role       TEXT NOT NULL,
    relation   TEXT NOT NULL,
    first_seen INTEGER,
    last_seen  INTEGER,
    count      INTEGER NOT NULL,
    name       TEXT,  -- contact links: the name the applicant gave (latest)
    source     TEXT,  -- contact links: emergency or address_book (latest)
    PRIMARY KEY (applicant, identifier, role, relation)
) WITHOUT ROWID;
-- Who holds each identifier: the (identifier, applicant) pair of every link, so that
-- links are found from the identifier end too. The writer fills it in each batch from
-- the batch's pairs in identifier order (cheaper than an index on links(identifier),
-- whose sorter took 15 s on a million applicants).
CREATE TABLE IF NOT EXISTS holders (
    identifier INTEGER NOT NULL,
    applicant  INTEGER NOT NULL,
    PRIMARY KEY (identifier, applicant)
) WITHOUT ROWID;
-- Hashes of contact and identifier-sighting rows already applied: their content
-- lives in links (first_seen, last_seen, count, name, source); these make a
-- repeated row a duplicate instead of a second count.
CREATE TABLE IF NOT EXISTS contact_records (hash INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sighting_records (hash INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS outcomes (
    id          INTEGER PRIMARY KEY,
    hash        INTEGER NOT NULL UNIQUE,
    applicant   INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    observed_at INTEGER,
    phone       INTEGER
);
CREATE INDEX IF NOT EXISTS outcomes_by_applicant ON outcomes (applicant);
CREATE TABLE IF NOT EXISTS relations (
    id          INTEGER PRIMARY KEY,
    hash        INTEGER NOT NULL UNIQUE,
    src    INTEGER NOT NULL,
    dst    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    at     INTEGER,
    amount REAL
);
CREATE INDEX IF NOT EXISTS relations_by_src ON relations (src);
CREATE INDEX IF NOT EXISTS relations_by_dst ON relations (dst);
-- Facts (contacts, outcomes, sightings, relations) whose applicant is not stored yet:
-- the validated row as JSON, attached (and deleted here) in the transaction that
-- stores the applicant it waits for.
CREATE TABLE IF NOT EXISTS pending (
    id      INTEGER PRIMARY KEY,
    hash    INTEGER NOT NULL UNIQUE,  -- the fact's hash: a repeat while waiting is a duplicate
    tbl     TEXT NOT NULL,
    waiting TEXT NOT NULL,            -- the applicant key it waits for
    since   INTEGER NOT NULL,         -- when it was first kept (epoch seconds)
    body    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_applicant ON pending (waiting);
-- One row per applied batch, written in the batch's own transaction.
CREATE TABLE IF NOT EXISTS manifest (
    checksum   TEXT NOT NULL,
    tbl        TEXT NOT NULL,
    start_row  INTEGER NOT NULL,
    end_row    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    file       TEXT NOT NULL,
    rows_read  INTEGER NOT NULL,
    loaded     INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    rejected   INTEGER NOT NULL,
    loaded_at  TEXT NOT NULL,
    PRIMARY KEY (checksum, tbl, start_row)
);
CREATE TABLE IF NOT EXISTS rejects (
    checksum TEXT NOT NULL,
    tbl      TEXT NOT NULL,
    file     TEXT NOT NULL,
    row      INTEGER NOT NULL,
    col      TEXT NOT NULL,
    reason   TEXT NOT NULL,
    detail   TEXT
);
CREATE INDEX IF NOT EXISTS rejects_by_checksum ON rejects (checksum, tbl);
-- What erased people left (graphsvc/people/erasure.py): keyed digests of their applicant id and
-- removed identifiers, checked by the loader and score-on-write; never a value.
CREATE TABLE IF NOT EXISTS tombstones (
    digest TEXT PRIMARY KEY,
    what   TEXT NOT NULL,  -- applicant, or the identifier's kind
    at     TEXT NOT NULL
) WITHOUT ROWID;
-- Re-score runs (graphsvc rescore): one row per run, results keyed by run and natural keys.
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    as_of      INTEGER,
    seed       INTEGER NOT NULL,
    params     TEXT NOT NULL,  -- JSON: the scoring policy
    timings    TEXT NOT NULL,  -- JSON: seconds per stage
    counts     TEXT NOT NULL   -- JSON
);
CREATE TABLE IF NOT EXISTS scores (
    run_id       TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    score        INTEGER NOT NULL,
    band         TEXT NOT NULL,
    ring_id      TEXT,
    reasons      TEXT,  -- JSON list of {code, points, evidence}
    PRIMARY KEY (run_id, applicant_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rings (
    run_id   TEXT NOT NULL,
    ring_id  TEXT NOT NULL,
    size     INTEGER NOT NULL,
    risk     REAL NOT NULL,
    fraud    INTEGER NOT NULL,
    "default" INTEGER NOT NULL,
    features TEXT NOT NULL,  -- JSON
    PRIMARY KEY (run_id, ring_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ring_members (
    run_id       TEXT NOT NULL,
    ring_id      TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    PRIMARY KEY (run_id, ring_id, applicant_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hubs (
    run_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    role        TEXT NOT NULL,
    degree      INTEGER NOT NULL,
    fraud       INTEGER NOT NULL,
    fraud_share REAL NOT NULL,
    verdict     TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, value, role)
) WITHOUT ROWID;
-- Which run is served (graphsvc/analytics/serving.py): every run's decision (promote or hold) and
-- every promotion or rollback by hand; the served run is that of the newest promote or
-- rollback entry.
CREATE TABLE IF NOT EXISTS promotions (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    action   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    replaces TEXT
);
-- Requests for human review of an automated decision (graphsvc/people/decision.py), open until
-- an investigator closes them with an outcome and a note.
CREATE TABLE IF NOT EXISTS reviews (
    review_id      TEXT PRIMARY KEY,
    applicant_id   TEXT NOT NULL,
    application_id TEXT,
    requested_at   TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    reason         TEXT,  -- the person's words
    status         TEXT NOT NULL,  -- open or closed
    closed_at      TEXT,
    closed_by      TEXT,
    outcome        TEXT,  -- upheld or changed
    note           TEXT
);
-- Audit trail of personal-data access (API responses, skip-traces): append-only.
CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    caller   TEXT NOT NULL,
    role     TEXT NOT NULL,
    route    TEXT NOT NULL,
    method   TEXT NOT NULL,
    status   INTEGER NOT NULL,
    subjects TEXT NOT NULL,  -- JSON list of applicant ids the response is about
    purpose  TEXT,           -- the caller's X-Purpose header
    reason   TEXT,           -- why a call was refused (401, 403, 429); none for answered calls
    revealed TEXT            -- JSON list: keyed digests of the phone numbers the response showed in full
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
