-- Embedded store of record (SQLite, WAL). Ids of applications, identifiers and fact
-- rows are 63-bit hashes of their natural keys (graphsvc/keys.py); applicants get
-- sequential ids so that their links append to the end of the links tree.
-- Timestamps are integer seconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applicants (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    properties TEXT
);
CREATE TABLE IF NOT EXISTS applications (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    applicant  INTEGER NOT NULL,
    applied_at INTEGER NOT NULL,
    digest     INTEGER NOT NULL,
    properties TEXT
);
CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications (applicant);
CREATE TABLE IF NOT EXISTS identifiers (
    id    INTEGER PRIMARY KEY,
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
    PRIMARY KEY (applicant, identifier, role, relation)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sightings (
    id          INTEGER PRIMARY KEY,
    applicant   INTEGER NOT NULL,
    identifier  INTEGER NOT NULL,
    observed_at INTEGER
);
CREATE TABLE IF NOT EXISTS contacts (
    id          INTEGER PRIMARY KEY,
    applicant   INTEGER NOT NULL,
    identifier  INTEGER NOT NULL,
    relation    TEXT NOT NULL,
    source      TEXT,
    name        TEXT,
    recorded_at INTEGER
);
CREATE TABLE IF NOT EXISTS outcomes (
    id          INTEGER PRIMARY KEY,
    applicant   INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    observed_at INTEGER,
    phone       INTEGER
);
CREATE INDEX IF NOT EXISTS outcomes_by_applicant ON outcomes (applicant);
CREATE TABLE IF NOT EXISTS relations (
    id     INTEGER PRIMARY KEY,
    src    INTEGER NOT NULL,
    dst    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    at     INTEGER,
    amount REAL
);
CREATE INDEX IF NOT EXISTS relations_by_src ON relations (src);
CREATE INDEX IF NOT EXISTS relations_by_dst ON relations (dst);
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
-- A changed key would be a hash collision: refuse it instead of merging two nodes.
CREATE TRIGGER IF NOT EXISTS identifiers_collision BEFORE UPDATE ON identifiers
BEGIN SELECT RAISE(ABORT, 'key collision in identifiers'); END;
CREATE TRIGGER IF NOT EXISTS applications_collision BEFORE UPDATE OF key ON applications
BEGIN SELECT RAISE(ABORT, 'key collision in applications'); END;
