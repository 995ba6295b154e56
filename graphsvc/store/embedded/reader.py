"""Reading the embedded store by natural keys (applicant ids, identifier kind and value)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.ingest import keys
from graphsvc.store.base import LINK_COLUMNS, RELATION_COLUMNS, SOURCE_CODES, GraphArrays
from graphsvc.store.embedded.sql import Connection, connect, frame
from graphsvc.store.rows import ApplicantOutcome, ApplicationEvent, NeighbourRow, OutcomeEvent


class Reader:
    """The read half of :class:`~graphsvc.store.embedded.EmbeddedStore`."""

    _con: Connection
    path: Path

    def _frame(self, sql: str, params: tuple | list = ()) -> pd.DataFrame:
        return frame(self._con, sql, params)

    def loaded_batches(self, checksum: str, table: str) -> pd.DataFrame:
        return self._frame(
            "SELECT * FROM manifest WHERE checksum = ? AND tbl = ? ORDER BY start_row", (checksum, table)
        )

    def rejects(self, checksum: str, table: str) -> pd.DataFrame:
        return self._frame(
            "SELECT file, row, col AS column, reason, detail FROM rejects "
            "WHERE checksum = ? AND tbl = ? ORDER BY row, col", (checksum, table)
        )

    def counts(self) -> dict[str, dict[str, int]]:
        one = lambda sql: self._con.execute(sql).fetchone()[0]  # noqa: E731
        grouped = lambda sql: {str(k): int(v) for k, v in self._con.execute(sql).fetchall()}  # noqa: E731
        return {
            "nodes": {"applicant": one("SELECT count(*) FROM applicants"),
                      **grouped("SELECT kind, count(*) FROM identifiers GROUP BY kind ORDER BY kind")},
            "links": grouped(
                "SELECT i.kind || ':' || l.role, count(*) FROM links l "
                "JOIN identifiers i ON i.id = l.identifier GROUP BY 1 ORDER BY 1"),
            "facts": {"applications": one("SELECT count(*) FROM applications"),
                      "contacts": one("SELECT count(*) FROM contact_records"),
                      "sightings": one("SELECT count(*) FROM sighting_records")},
            "outcomes": grouped("SELECT outcome, count(*) FROM outcomes GROUP BY 1 ORDER BY 1"),
            "relations": grouped("SELECT type, count(*) FROM relations GROUP BY 1 ORDER BY 1"),
        }

    def pending(self) -> pd.DataFrame:
        return self._frame("SELECT tbl AS \"table\", count(*) AS rows, min(since) AS oldest FROM pending "
                           "GROUP BY tbl ORDER BY tbl", [])

    _LINK_FIELDS = ("SELECT a.key AS applicant_id, i.kind, i.value, l.role, l.relation, l.first_seen, "
                    "l.last_seen, l.count, l.name, l.source, a.consents ")
    #: links from the applicant end (the links' own key) ...
    _LINKS_SELECT = (_LINK_FIELDS + "FROM links l JOIN applicants a ON a.id = l.applicant "
                     "JOIN identifiers i ON i.id = l.identifier ")
    #: ... and from the identifier end, through holders
    _HELD_SELECT = (_LINK_FIELDS + "FROM identifiers i JOIN holders h ON h.identifier = i.id "
                    "JOIN links l ON l.applicant = h.applicant AND l.identifier = h.identifier "
                    "JOIN applicants a ON a.id = l.applicant ")

    def applicant_links(self, applicant_ids: list[str]) -> pd.DataFrame:
        frames = [
            self._frame(self._LINKS_SELECT + f"WHERE a.key IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks(list(applicant_ids))
        ]
        return _concat(frames, LINK_COLUMNS)

    def stale_contacts(self, source: str | None, before: int) -> pd.DataFrame:
        which = "l.source IS NULL" if source is None else "l.source = ?"
        return self._frame(
            "SELECT a.key AS applicant_id, i.value, l.last_seen FROM links l JOIN applicants a ON a.id = l.applicant "
            f"JOIN identifiers i ON i.id = l.identifier WHERE l.role = 'contact' AND {which} AND l.last_seen < ? "
            "ORDER BY l.last_seen, a.key, i.value", ([] if source is None else [source]) + [int(before)])

    def applicant_relations(self, applicant_ids: list[str]) -> pd.DataFrame:
        if self._con.execute("SELECT 1 FROM relations LIMIT 1").fetchone() is None:  # most lenders' stores
            return _NO_RELATIONS.copy()  # building an empty frame costs more than the query
        wanted = json.dumps(list(applicant_ids))
        return self._frame(
            "WITH ids AS (SELECT id FROM applicants WHERE key IN (SELECT value FROM json_each(?))) "
            "SELECT s.key AS src_applicant_id, d.key AS dst_applicant_id, r.type, r.at, r.amount "
            "FROM relations r JOIN applicants s ON s.id = r.src JOIN applicants d ON d.id = r.dst "
            "WHERE r.src IN ids OR r.dst IN ids ORDER BY r.at IS NULL, r.at, r.id", (wanted,))

    def _identifier_hashes(self, identifiers: list[tuple[str, str]]) -> list[int]:
        by_kind: dict[str, list[str]] = {}
        for kind, value in identifiers:
            by_kind.setdefault(str(kind), []).append(value)
        return [h for kind, values in sorted(by_kind.items())
                for h in keys.identifier_ids(kind, np.array(values, dtype=object)).tolist()]

    def identifier_degrees(self, identifiers: list[tuple[str, str]], cap: int | None = None) -> pd.DataFrame:
        if cap is None:
            sql = ("SELECT i.kind, i.value, count(*) AS degree FROM identifiers i "
                   "JOIN holders h ON h.identifier = i.id WHERE i.hash IN ({}) GROUP BY i.id")
        else:  # stop counting past the cap: a hub costs no more than a rare value
            sql = ("SELECT i.kind, i.value, (SELECT count(*) FROM (SELECT 1 FROM holders h "
                   f"WHERE h.identifier = i.id LIMIT {int(cap) + 1})) AS degree FROM identifiers i "
                   "WHERE i.hash IN ({})")
        frames = [self._frame(sql.format(",".join("?" * len(chunk))), chunk)
                  for chunk in _chunks(self._identifier_hashes(identifiers))]
        frame = _concat(frames, ["kind", "value", "degree"])
        return frame[frame["degree"] > 0].reset_index(drop=True)

    def identifier_links(self, identifiers: list[tuple[str, str]], max_degree: int | None = None) -> pd.DataFrame:
        if max_degree is not None:
            degrees = self.identifier_degrees(identifiers, cap=max_degree)
            identifiers = list(zip(degrees.loc[degrees["degree"] <= max_degree, "kind"],
                                   degrees.loc[degrees["degree"] <= max_degree, "value"]))
        frames = [
            self._frame(self._HELD_SELECT + f"WHERE i.hash IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks(self._identifier_hashes(identifiers))
        ]
        return _concat(frames, LINK_COLUMNS)

    def applicants(self, applicant_ids: list[str]) -> pd.DataFrame:
        frames = [
            self._frame(
                "SELECT a.key AS applicant_id, a.properties, "
                "(SELECT count(*) FROM applications p WHERE p.applicant = a.id) AS applications, "
                "(SELECT group_concat(DISTINCT o.outcome) FROM outcomes o WHERE o.applicant = a.id) AS outcomes "
                f"FROM applicants a WHERE a.key IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks(list(applicant_ids))
        ]
        return _concat(frames, ["applicant_id", "properties", "applications", "outcomes"])

    def shared_identifiers(self, kind: str, min_degree: int = 2) -> pd.DataFrame:
        return self._frame(
            "WITH fraud AS (SELECT DISTINCT applicant FROM outcomes WHERE outcome = 'fraud') "
            "SELECT i.kind, i.value, count(*) AS degree, count(f.applicant) AS fraud "
            "FROM identifiers i JOIN holders h ON h.identifier = i.id "
            "LEFT JOIN fraud f ON f.applicant = h.applicant "
            "WHERE i.kind = ? GROUP BY i.id HAVING count(*) >= ? ORDER BY degree DESC, i.value",
            (kind, min_degree),
        )


    def neighbourhood(self, applicant_ids: list[str], identifiers: list[tuple[str, str]],
                      cap: int) -> list[NeighbourRow]:
        hashes = json.dumps([int(h) for h in self._identifier_hashes(identifiers)])
        return [NeighbourRow._make(row) for row in self._con.execute(
            "WITH me(id) AS MATERIALIZED (SELECT id FROM applicants WHERE key IN (SELECT value FROM json_each(?2))), "
            "ids(id) AS (SELECT i.id FROM identifiers i WHERE i.hash IN (SELECT value FROM json_each(?1)) "
            "UNION SELECT l.identifier FROM links l WHERE l.applicant IN me), "
            "deg AS MATERIALIZED (SELECT i.id, i.kind, i.value, (SELECT count(*) FROM (SELECT 1 FROM holders x "
            "WHERE x.identifier = i.id LIMIT ?3)) AS degree FROM identifiers i JOIN ids ON ids.id = i.id) "
            "SELECT d.kind, d.value, d.degree, a.key, l.role, l.relation, l.first_seen, l.source, a.consents "
            "FROM deg d "
            "LEFT JOIN holders h ON h.identifier = d.id AND d.degree < ?3 "
            "LEFT JOIN links l ON l.applicant = h.applicant AND l.identifier = h.identifier "
            "LEFT JOIN applicants a ON a.id = l.applicant "
            # a hub's holders are counted, not fetched; the given applicants' own links to it still come
            "UNION ALL SELECT d.kind, d.value, d.degree, a.key, l.role, l.relation, l.first_seen, l.source, "
            "a.consents FROM deg d JOIN me JOIN links l ON l.applicant = me.id AND l.identifier = d.id "
            "JOIN applicants a ON a.id = l.applicant WHERE d.degree >= ?3 ORDER BY 1, 2, 4",
            (hashes, json.dumps(list(applicant_ids)), int(cap) + 1))]

    def timelines(self, applicant_ids: list[str]) -> tuple[list[OutcomeEvent], list[ApplicationEvent]]:
        wanted = json.dumps(list(applicant_ids))
        ids = "SELECT id, key FROM applicants WHERE key IN (SELECT value FROM json_each(?))"
        outcomes = [OutcomeEvent._make(row) for row in self._con.execute(
            f"WITH ids AS ({ids}) SELECT ids.key, o.outcome, o.observed_at FROM ids "  # noqa: S608
            "JOIN outcomes o ON o.applicant = ids.id ORDER BY ids.key, o.observed_at, o.id", (wanted,))]
        applications = [ApplicationEvent._make(row) for row in self._con.execute(
            f"WITH ids AS ({ids}) SELECT ids.key, p.applied_at FROM ids "  # noqa: S608
            "JOIN applications p ON p.applicant = ids.id ORDER BY ids.key, p.applied_at", (wanted,))]
        return outcomes, applications

    def applicant_outcomes(self, applicant_id: str) -> list[ApplicantOutcome]:
        return [ApplicantOutcome._make(row) for row in self._con.execute(
            "SELECT o.outcome, o.observed_at, i.value FROM outcomes o JOIN applicants a ON a.id = o.applicant "
            "LEFT JOIN identifiers i ON i.id = o.phone WHERE a.key = ? ORDER BY o.observed_at, o.id",
            (applicant_id,))]

    def application(self, application_id: str) -> dict | None:
        row = self._con.execute(
            "SELECT p.key, a.key, p.applied_at, p.digest FROM applications p JOIN applicants a ON a.id = p.applicant "
            "WHERE p.hash = ?", (int(keys.salted("application", np.array([application_id], dtype=object))[0]),)
        ).fetchone()
        if row is None or row[0] != application_id:
            return None
        return {"applicant_id": row[1], "applied_at": row[2], "digest": row[3]}

    def outcome_events(self, outcome: str) -> pd.DataFrame:
        return self._frame(
            "SELECT a.key AS applicant_id, o.observed_at FROM outcomes o JOIN applicants a ON a.id = o.applicant "
            "WHERE o.outcome = ? ORDER BY o.observed_at, a.key", (outcome,))

    def graph_arrays(self, as_of: int | None = None) -> GraphArrays:
        dated = "" if as_of is None else " AND (first_seen IS NULL OR first_seen <= ?)"
        params = () if as_of is None else (as_of,)
        con = self._con
        con.execute("BEGIN")
        try:
            con.execute("SELECT count(*) FROM meta").fetchall()  # the read snapshot starts here
            # Applicants and identifiers are read beside the links, on a second
            # connection whose snapshot is the same or newer: both only ever grow,
            # so every id the links name is there.
            with ThreadPoolExecutor(1) as pool:
                nodes = pool.submit(self._node_arrays)
                # applicant, identifier and role packed in one value, then first_seen (undated
                # links as a sentinel: group_concat skips NULL), read as pairs in one pass
                pairs = _ints(con, f"SELECT ((applicant << 35) | (identifier << 3) | ({_SOURCE_CODE} << 1) "
                                   "| (role = 'contact')) || ',' || "
                                   f"coalesce(first_seen, {_UNDATED}) AS x FROM links "
                                   f"WHERE 1{dated} ORDER BY applicant, identifier, role, relation", params)
                packed, seen = pairs[0::2], pairs[1::2]
                stated = con.execute("SELECT id, consents FROM applicants WHERE consents IS NOT NULL").fetchall()
                outcomes = pd.DataFrame(con.execute(
                    "SELECT applicant, outcome, observed_at FROM outcomes"
                    + ("" if as_of is None else " WHERE observed_at <= ?"), params).fetchall(),
                    columns=["applicant", "outcome", "at"])
                applications = _ints(con,  # times shifted by 2**33 s so that pre-1970 dates pack too
                                     "SELECT (applicant << 34) | (applied_at + 8589934592) AS x FROM applications"
                                     + ("" if as_of is None else " WHERE applied_at <= ?"), params)
                relations = pd.DataFrame(con.execute(
                    "SELECT src, dst, type, at FROM relations"
                    + ("" if as_of is None else " WHERE at IS NULL OR at <= ?"), params).fetchall(),
                    columns=["src", "dst", "type", "at"])
                applicant_ids, applicants, identifier_ref, identifier_kind, kinds = nodes.result()
        finally:
            con.execute("COMMIT")
        consents = np.full(len(applicant_ids), None, dtype=object)
        if stated:
            consents[_positions(applicant_ids, np.array([i for i, _ in stated], dtype=np.int64))] = \
                [c for _, c in stated]
        return GraphArrays(
            applicants=applicants, kinds=kinds, identifier_kind=identifier_kind, identifier_ref=identifier_ref,
            link_applicant=_positions(applicant_ids, packed >> 35),
            link_identifier=_positions(identifier_ref, (packed >> 3) & 0xFFFFFFFF),
            link_contact=(packed & 1).astype(bool),
            link_source=((packed >> 1) & 3).astype(np.int8),
            applicant_consents=consents,
            link_first_seen=np.where(seen == _UNDATED, np.nan, seen.astype(float)),
            outcome_applicant=_positions(applicant_ids, outcomes["applicant"].to_numpy(np.int64)),
            outcome=outcomes["outcome"].to_numpy(object),
            outcome_at=pd.to_numeric(outcomes["at"], errors="coerce").to_numpy(float),
            application_applicant=_positions(applicant_ids, applications >> 34),
            application_at=(applications & ((1 << 34) - 1)) - (1 << 33),
            relation_src=_positions(applicant_ids, relations["src"].to_numpy(np.int64)),
            relation_dst=_positions(applicant_ids, relations["dst"].to_numpy(np.int64)),
            relation_type=relations["type"].to_numpy(object),
            relation_at=pd.to_numeric(relations["at"], errors="coerce").to_numpy(float),
        )

    def _node_arrays(self) -> tuple:
        con = connect(self.path, readonly=True)
        try:
            con.execute("PRAGMA cache_size=-200000")
            applicant_ids = _ints(con, "SELECT id AS x FROM applicants ORDER BY id")
            applicants = _texts(con, "SELECT key AS x FROM applicants ORDER BY id")
            identifier_ref = _ints(con, "SELECT id AS x FROM identifiers ORDER BY id")
            codes, uniques = pd.factorize(_texts(con, "SELECT kind AS x FROM identifiers ORDER BY id"), sort=True)
        finally:
            con.close()
        return applicant_ids, applicants, identifier_ref, codes.astype(np.int8), tuple(str(k) for k in uniques)

    def identifier_values(self, refs: np.ndarray) -> pd.DataFrame:
        frames = [
            self._frame(f"SELECT id AS ref, kind, value FROM identifiers WHERE id IN ({','.join('?' * len(chunk))})",
                        chunk)
            for chunk in _chunks([int(r) for r in np.unique(refs)])
        ]
        return _concat(frames, ["ref", "kind", "value"])


#: a link's contact source as its code (store.base.SOURCE_CODES)
_SOURCE_CODE = "CASE source " + " ".join(f"WHEN '{n}' THEN {c}" for n, c in SOURCE_CODES.items()) + " ELSE 0 END"
#: first_seen of undated links in :meth:`Reader.graph_arrays`' packed read
_UNDATED = -(1 << 62)
_NO_RELATIONS = pd.DataFrame(columns=RELATION_COLUMNS)


def _ints(con: Connection, sql: str, params: tuple = ()) -> np.ndarray:
    """One integer column (aliased ``x``) as an array.

    SQLite joins the values into one text that numpy parses: twice as fast as a
    Python object per row on millions of links.
    """
    text = con.execute(f"SELECT group_concat(x, ',') FROM ({sql})", params).fetchone()[0]  # noqa: S608
    return np.zeros(0, np.int64) if text is None else np.fromstring(text, dtype=np.int64, sep=",")


def _texts(con: Connection, sql: str, params: tuple = ()) -> np.ndarray:
    """One text column (aliased ``x``) as an object array, joined in SQLite as :func:`_ints` does."""
    text, count, clean = con.execute(
        f"SELECT group_concat(x, char(31)), count(*), sum(instr(x, char(31)) = 0) FROM ({sql})",  # noqa: S608
        params).fetchone()
    if not count:
        return np.zeros(0, dtype=object)
    if clean != count:  # a value holds the separator itself: fall back to one row at a time
        return np.array([r[0] for r in con.execute(sql, params)], dtype=object)
    return np.array(text.split("\x1f"), dtype=object)


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """0-based positions of ``wanted`` ids in the sorted ``ids`` (direct when ids run 1..n)."""
    if len(ids) and ids[0] == 1 and ids[-1] == len(ids):
        return (wanted - 1).astype(np.int32)
    return np.searchsorted(ids, wanted).astype(np.int32)


def _chunks(values: list, size: int = 900) -> list[list]:
    return [values[i:i + size] for i in range(0, len(values), size)] or []


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
