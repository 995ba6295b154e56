"""Embedded store of record: one SQLite file in WAL mode.

Several processes may read while one writes. Each batch is one ``BEGIN IMMEDIATE``
transaction holding its facts, the links they imply, its rejects and its
manifest row, so a killed process leaves the file as it was before or after the
batch. Facts are keyed by hashes of their natural keys (:mod:`graphsvc.keys`),
which makes re-applying a row a no-op; links are only ever incremented from
facts that were new.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc import keys
from graphsvc.contract import Reason, Role
from graphsvc.errors import KeyCollisionError, StoreError
from graphsvc.store.base import LINK_COLUMNS, REJECT_COLUMNS, Batch, BatchResult, Store

SCHEMA_VERSION = "1"
_LINK_INDEX = "CREATE INDEX IF NOT EXISTS links_by_identifier ON links (identifier)"
_BULK_THRESHOLD = 500_000  # expected rows above which the identifier index is rebuilt once
_UPSERT_LINK = (
    "INSERT INTO links (applicant, identifier, role, relation, first_seen, last_seen, count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
    "first_seen = min(coalesce(first_seen, excluded.first_seen), "
    "coalesce(excluded.first_seen, first_seen)), "
    "last_seen = max(coalesce(last_seen, excluded.last_seen), "
    "coalesce(excluded.last_seen, last_seen)), "
    "count = count + excluded.count"
)
_INSERT_IDENTIFIER = (
    "INSERT INTO identifiers (id, kind, value) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
    "SET value = excluded.value WHERE kind <> excluded.kind OR value <> excluded.value"
)


def _column(values: pd.Series | np.ndarray) -> list:
    """A column as a list sqlite3 can bind: numpy scalars unboxed, missing as None."""
    series = pd.Series(values)
    kind = series.dtype.kind
    missing = series.isna().to_numpy()
    if kind in "iub" and not missing.any():
        return series.astype(np.int64).tolist()
    if kind in "iuf":
        cast = int if kind in "iu" else float
        return [None if m else cast(v) for v, m in zip(series.to_numpy(object), missing)]
    if not missing.any():
        return series.astype(object).tolist()
    return [None if m else v for v, m in zip(series.astype(object).tolist(), missing)]


def _rows(*columns: pd.Series | np.ndarray) -> list[tuple]:
    return list(zip(*(_column(c) for c in columns)))


def _int_or_none(values: pd.Series) -> list:
    return [None if v is None or v != v else int(v) for v in values.tolist()]


class EmbeddedStore(Store):
    """The default store: a single SQLite file, created on first open.

    Parameters
    ----------
    path : str or Path
        The database file.
    readonly : bool
        Open without write access (the file must exist).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise StoreError(f"no store at {self.path}")
            uri = f"file:{self.path}?mode=ro"
            self._con = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.readonly = readonly
        con = self._con
        if not readonly:
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-1000000")  # up to 1 GB, allocated as used
        con.execute("PRAGMA temp_store=MEMORY")
        if not readonly:
            schema = resources.files("graphsvc.store").joinpath("schema.sql").read_text()
            con.executescript(schema)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                (SCHEMA_VERSION,),
            )
            con.execute(_LINK_INDEX)
            con.execute("CREATE TEMP TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY)")
            con.execute("CREATE TEMP TABLE IF NOT EXISTS probe_keys (key TEXT PRIMARY KEY)")
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version} is not {SCHEMA_VERSION}")

    # ------------------------------------------------------------------ writing
    def apply(self, batch: Batch) -> BatchResult:
        if self.readonly:
            raise StoreError("the store is open read-only")
        apply_table = getattr(self, f"_apply_{batch.origin.table}")
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            loaded, duplicates, store_rejects = apply_table(batch.rows)
            rejects = pd.concat(
                [frame for frame in (batch.rejects, store_rejects) if len(frame)]
                or [pd.DataFrame(columns=REJECT_COLUMNS)],
                ignore_index=True,
            )
            self._record(batch, loaded, duplicates, rejects)
            con.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            con.execute("ROLLBACK")
            if "key collision" in str(exc):
                raise KeyCollisionError(f"{batch.origin.file}: {exc}") from exc
            raise StoreError(f"{batch.origin.file} rows {batch.origin.start_row}-: {exc}") from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return BatchResult(loaded=loaded, duplicates=duplicates, rejects=rejects)

    def _record(self, batch: Batch, loaded: int, duplicates: int, rejects: pd.DataFrame) -> None:
        o = batch.origin
        rejected_rows = int(rejects["row"].nunique()) if len(rejects) else 0
        self._con.execute(
            "INSERT INTO manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (o.checksum, o.table, o.start_row, o.end_row, o.source, o.file, o.rows_read,
             loaded, duplicates, rejected_rows, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        if len(rejects):
            self._con.executemany(
                "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
                _rows(
                    np.full(len(rejects), o.checksum, dtype=object),
                    np.full(len(rejects), o.table, dtype=object),
                    np.full(len(rejects), o.file, dtype=object),
                    rejects["row"], rejects["column"], rejects["reason"], rejects["detail"],
                ),
            )

    def _probe(self, table: str, ids: np.ndarray, columns: str) -> pd.DataFrame:
        """Rows of ``table`` whose id is in ``ids`` (PK look-ups through a temp table)."""
        con = self._con
        con.execute("DELETE FROM temp.probe")
        con.executemany("INSERT OR IGNORE INTO temp.probe VALUES (?)", ((i,) for i in ids.tolist()))
        found = con.execute(
            f"SELECT {columns} FROM temp.probe p JOIN {table} t ON t.id = p.id"  # noqa: S608 - fixed names
        ).fetchall()
        return pd.DataFrame(found, columns=[c.strip().split(".")[-1] for c in columns.split(",")])

    def _applicant_ids(self, applicant_keys: pd.Series, *, create: bool) -> np.ndarray:
        """Internal ids aligned with ``applicant_keys``; -1 where unknown (``create=False``)."""
        con = self._con
        distinct = pd.unique(applicant_keys.to_numpy(object))
        con.execute("DELETE FROM temp.probe_keys")
        con.executemany("INSERT INTO temp.probe_keys VALUES (?)", ((k,) for k in sorted(distinct)))
        if create:
            con.execute(
                "INSERT INTO applicants (key) SELECT key FROM temp.probe_keys WHERE true "
                "ON CONFLICT (key) DO NOTHING"
            )
        found = dict(
            con.execute(
                "SELECT p.key, a.id FROM temp.probe_keys p JOIN applicants a ON a.key = p.key"
            ).fetchall()
        )
        return applicant_keys.map(found).fillna(-1).astype(np.int64).to_numpy()

    def _new_facts(self, table: str, ids: np.ndarray) -> np.ndarray:
        """Mask of rows whose fact id is neither earlier in the batch nor stored."""
        first = ~pd.Series(ids).duplicated().to_numpy()
        stored = set(self._probe(table, ids[first], "t.id")["id"].tolist())
        return first & ~np.isin(ids, np.fromiter(stored, dtype=np.int64, count=len(stored)))

    def _insert_identifiers(self, kinds: np.ndarray, values: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame({"kind": kinds, "value": values})
        ids = np.empty(len(frame), dtype=np.int64)
        for kind, part in frame.groupby("kind", sort=False):
            ids[part.index.to_numpy()] = keys.identifier_ids(str(kind), part["value"].to_numpy(object))
        distinct = frame.assign(id=ids).drop_duplicates("id").sort_values("id")
        self._con.executemany(_INSERT_IDENTIFIER, _rows(distinct["id"], distinct["kind"], distinct["value"]))
        return ids

    def _add_links(self, links: pd.DataFrame) -> None:
        """Increment links from new facts: applicant, identifier, role, relation, seen."""
        if not len(links):
            return
        links = links.assign(seen=pd.to_numeric(links["seen"], errors="coerce").astype(float))
        grouped = (
            links.groupby(["applicant", "identifier", "role", "relation"], sort=True)["seen"]
            .agg(["min", "max", "size"])
            .reset_index()
        )
        self._con.executemany(
            _UPSERT_LINK,
            list(zip(
                grouped["applicant"].tolist(), grouped["identifier"].tolist(),
                grouped["role"].tolist(), grouped["relation"].tolist(),
                _int_or_none(grouped["min"]), _int_or_none(grouped["max"]),
                grouped["size"].tolist(),
            )),
        )

    @staticmethod
    def _rejects(rows: pd.DataFrame, mask: np.ndarray, column: str, reason: Reason, detail: str) -> pd.DataFrame:
        picked = rows.loc[mask, "row"]
        return pd.DataFrame(
            {"row": picked.to_numpy(), "column": column, "reason": str(reason), "detail": detail}
        )

    def _split_known(self, rows: pd.DataFrame, columns: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
        """Drop rows naming applicants the store does not know; return their rejects."""
        ids = {c: self._applicant_ids(rows[c], create=False) for c in columns}
        unknown = np.zeros(len(rows), dtype=bool)
        rejects = []
        for column, found in ids.items():
            missing = (found < 0) & ~unknown
            if missing.any():
                rejects.append(self._rejects(rows, missing, column, Reason.UNKNOWN_APPLICANT,
                                             "no applicant with this id has been loaded"))
            unknown |= found < 0
        keep = ~unknown
        frame = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=REJECT_COLUMNS)
        return rows.loc[keep].reset_index(drop=True), frame, {c: v[keep] for c, v in ids.items()}

    def _apply_applicants(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        rows = rows.drop_duplicates("applicant_id", keep="last")
        before = self._applicant_ids(rows["applicant_id"], create=False)
        ids = self._applicant_ids(rows["applicant_id"], create=True)
        changed = 0
        if "properties" in rows and rows["properties"].notna().any():
            cursor = self._con.executemany(
                "UPDATE applicants SET properties = ? WHERE id = ? AND properties IS NOT ?",
                [(p, i, p) for p, i in zip(_column(rows["properties"]), ids.tolist())],
            )
            changed = cursor.rowcount
        new = int((before < 0).sum())
        loaded = max(new, changed)
        return loaded, len(rows) - loaded, pd.DataFrame(columns=REJECT_COLUMNS)

    def _apply_applications(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        identical = rows.duplicated(["application_id", "digest"]).to_numpy()
        duplicates = int(identical.sum())
        rows = rows.loc[~identical].reset_index(drop=True)
        reused = rows.duplicated("application_id").to_numpy()
        rejects = [self._rejects(rows, reused, "application_id", Reason.CONFLICTING_DUPLICATE,
                                 "application_id appears earlier in this file with different content")]
        rows = rows.loc[~reused].reset_index(drop=True)
        ids = keys.salted("application", rows["application_id"].to_numpy(object))
        stored = self._probe("applications", ids, "t.id, t.key, t.digest").set_index("id")
        if len(stored):
            known = pd.Series(ids).map(stored["key"])
            clash = known.notna() & (known != rows["application_id"])
            if clash.any():
                raise KeyCollisionError(f"application ids collide: {rows.loc[clash, 'application_id'].tolist()[:3]}")
        old_digest = pd.Series(ids).map(stored["digest"] if len(stored) else {}).to_numpy()
        exists = ~pd.isna(old_digest)
        same = exists & (old_digest == rows["digest"].to_numpy())
        duplicates += int(same.sum())
        rejects.append(self._rejects(rows, exists & ~same, "application_id", Reason.CONFLICTING_DUPLICATE,
                                     "application_id already loaded with different content"))
        new = ~exists
        rows, ids = rows.loc[new].reset_index(drop=True), ids[new]
        applicant = self._applicant_ids(rows["applicant_id"], create=True)
        properties = rows["properties"] if "properties" in rows else pd.Series([None] * len(rows))
        order = np.argsort(ids)
        self._con.executemany(
            "INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?)",
            _rows(ids[order], rows["application_id"].to_numpy(object)[order], applicant[order],
                  rows["applied_at"].to_numpy()[order], rows["digest"].to_numpy()[order],
                  properties.to_numpy(object)[order]),
        )
        parts = []
        for column in (c for c in rows.columns if c.startswith("id:")):
            present = rows[column].notna().to_numpy()
            if present.any():
                parts.append(pd.DataFrame({
                    "applicant": applicant[present], "kind": column[3:],
                    "value": rows.loc[present, column].to_numpy(object),
                    "seen": rows.loc[present, "applied_at"].to_numpy(),
                }))
        if parts:
            sightings = pd.concat(parts, ignore_index=True)
            sightings["identifier"] = self._insert_identifiers(
                sightings["kind"].to_numpy(object), sightings["value"].to_numpy(object))
            self._add_links(sightings.assign(role=str(Role.OWN), relation=""))
        return len(rows), duplicates, pd.concat(rejects, ignore_index=True)

    def _apply_identifiers(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        rows, rejects, ids = self._split_known(rows, ("applicant_id",))
        applicant = ids["applicant_id"]
        fact = keys.row_ids("sightings", [rows["applicant_id"], rows["kind"], rows["value"], rows["observed_at"]])
        new = self._new_facts("sightings", fact)
        duplicates = int((~new).sum())
        rows, applicant, fact = rows.loc[new].reset_index(drop=True), applicant[new], fact[new]
        identifier = self._insert_identifiers(rows["kind"].to_numpy(object), rows["value"].to_numpy(object))
        order = np.argsort(fact)
        self._con.executemany(
            "INSERT INTO sightings VALUES (?, ?, ?, ?)",
            _rows(fact[order], applicant[order], identifier[order], rows["observed_at"].to_numpy(object)[order]),
        )
        self._add_links(pd.DataFrame({
            "applicant": applicant, "identifier": identifier, "role": str(Role.OWN),
            "relation": "", "seen": pd.to_numeric(rows["observed_at"]),
        }))
        return len(rows), duplicates, rejects

    def _apply_contacts(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        rows, rejects, ids = self._split_known(rows, ("applicant_id",))
        applicant = ids["applicant_id"]
        fact = keys.row_ids("contacts", [rows["applicant_id"], rows["contact_phone"], rows["relation"],
                                          rows["source"], rows["recorded_at"]])
        new = self._new_facts("contacts", fact)
        duplicates = int((~new).sum())
        rows, applicant, fact = rows.loc[new].reset_index(drop=True), applicant[new], fact[new]
        phone = rows["contact_phone"].to_numpy(object)
        identifier = self._insert_identifiers(np.full(len(rows), "phone", dtype=object), phone)
        order = np.argsort(fact)
        self._con.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?)",
            _rows(fact[order], applicant[order], identifier[order],
                  rows["relation"].to_numpy(object)[order], rows["source"].to_numpy(object)[order],
                  rows["contact_name"].to_numpy(object)[order], rows["recorded_at"].to_numpy(object)[order]),
        )
        self._add_links(pd.DataFrame({
            "applicant": applicant, "identifier": identifier, "role": str(Role.CONTACT),
            "relation": rows["relation"].to_numpy(object), "seen": pd.to_numeric(rows["recorded_at"]),
        }))
        return len(rows), duplicates, rejects

    def _apply_outcomes(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        rows, rejects, ids = self._split_known(rows, ("applicant_id",))
        applicant = ids["applicant_id"]
        fact = keys.row_ids("outcomes", [rows["applicant_id"], rows["outcome"], rows["observed_at"], rows["phone"]])
        new = self._new_facts("outcomes", fact)
        duplicates = int((~new).sum())
        rows, applicant, fact = rows.loc[new].reset_index(drop=True), applicant[new], fact[new]
        phone_id = np.full(len(rows), None, dtype=object)
        has_phone = rows["phone"].notna().to_numpy()
        if has_phone.any():
            phone_id[has_phone] = self._insert_identifiers(
                np.full(int(has_phone.sum()), "phone", dtype=object),
                rows.loc[has_phone, "phone"].to_numpy(object)).tolist()
        self._con.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
            _rows(fact, applicant, rows["outcome"], rows["observed_at"].to_numpy(object), phone_id),
        )
        return len(rows), duplicates, rejects

    def _apply_relations(self, rows: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
        rows, rejects, ids = self._split_known(rows, ("src_applicant_id", "dst_applicant_id"))
        fact = keys.row_ids("relations", [rows["src_applicant_id"], rows["dst_applicant_id"],
                                           rows["type"], rows["at"], rows["amount"]])
        new = self._new_facts("relations", fact)
        duplicates = int((~new).sum())
        rows, fact = rows.loc[new].reset_index(drop=True), fact[new]
        self._con.executemany(
            "INSERT INTO relations VALUES (?, ?, ?, ?, ?, ?)",
            _rows(fact, ids["src_applicant_id"][new], ids["dst_applicant_id"][new], rows["type"],
                  rows["at"].to_numpy(object), rows["amount"]),
        )
        return len(rows), duplicates, rejects

    @contextmanager
    def bulk(self, expected_rows: int) -> Iterator[None]:
        """Drop the links-by-identifier index for a large load and rebuild it once after."""
        if expected_rows < _BULK_THRESHOLD or self.readonly:
            yield
            return
        self._con.execute("DROP INDEX IF EXISTS links_by_identifier")
        try:
            yield
        finally:
            self._con.execute(_LINK_INDEX)
            self._con.execute("PRAGMA optimize")

    # ------------------------------------------------------------------ reading
    def _frame(self, sql: str, params: tuple | list = ()) -> pd.DataFrame:
        cursor = self._con.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])

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
                      "contacts": one("SELECT count(*) FROM contacts"),
                      "sightings": one("SELECT count(*) FROM sightings")},
            "outcomes": grouped("SELECT outcome, count(*) FROM outcomes GROUP BY 1 ORDER BY 1"),
            "relations": grouped("SELECT type, count(*) FROM relations GROUP BY 1 ORDER BY 1"),
        }

    _LINKS_SELECT = (
        "SELECT a.key AS applicant_id, i.kind, i.value, l.role, l.relation, l.first_seen, "
        "l.last_seen, l.count FROM links l JOIN applicants a ON a.id = l.applicant "
        "JOIN identifiers i ON i.id = l.identifier "
    )

    def applicant_links(self, applicant_ids: list[str]) -> pd.DataFrame:
        frames = [
            self._frame(self._LINKS_SELECT + f"WHERE a.key IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks(list(applicant_ids))
        ]
        return _concat(frames, LINK_COLUMNS)

    def _identifier_key_ids(self, identifiers: list[tuple[str, str]]) -> list[int]:
        ids: list[int] = []
        frame = pd.DataFrame(identifiers, columns=["kind", "value"])
        for kind, part in frame.groupby("kind"):
            ids.extend(keys.identifier_ids(str(kind), part["value"].to_numpy(object)).tolist())
        return ids

    def identifier_degrees(self, identifiers: list[tuple[str, str]]) -> pd.DataFrame:
        frames = [
            self._frame(
                "SELECT i.kind, i.value, count(DISTINCT l.applicant) AS degree FROM identifiers i "
                f"JOIN links l ON l.identifier = i.id WHERE i.id IN ({','.join('?' * len(chunk))}) "
                "GROUP BY i.id", chunk)
            for chunk in _chunks(self._identifier_key_ids(identifiers))
        ]
        return _concat(frames, ["kind", "value", "degree"])

    def identifier_links(self, identifiers: list[tuple[str, str]], max_degree: int | None = None) -> pd.DataFrame:
        ids = self._identifier_key_ids(identifiers)
        if max_degree is not None:
            degrees = self.identifier_degrees(identifiers)
            small = degrees[degrees["degree"] <= max_degree]
            ids = self._identifier_key_ids(list(zip(small["kind"], small["value"])))
        frames = [
            self._frame(self._LINKS_SELECT + f"WHERE l.identifier IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks(ids)
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
            "WITH fraud AS (SELECT DISTINCT applicant FROM outcomes WHERE outcome = 'fraud'), "
            "holders AS (SELECT DISTINCT l.identifier, l.applicant FROM links l "
            "JOIN identifiers i ON i.id = l.identifier WHERE i.kind = ?) "
            "SELECT i.kind, i.value, count(*) AS degree, count(f.applicant) AS fraud "
            "FROM holders h JOIN identifiers i ON i.id = h.identifier "
            "LEFT JOIN fraud f ON f.applicant = h.applicant "
            "GROUP BY h.identifier HAVING count(*) >= ? ORDER BY degree DESC, i.value",
            (kind, min_degree),
        )

    def close(self) -> None:
        self._con.close()


def _chunks(values: list, size: int = 900) -> list[list]:
    return [values[i:i + size] for i in range(0, len(values), size)] or []


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
