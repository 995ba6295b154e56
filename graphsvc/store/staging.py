"""Backend-neutral work on a batch before it meets a database.

:func:`stage` hashes natural keys (run by the loader in a forked child, beside
the writer); :func:`aggregate_links` folds new facts into one increment per link.
Both stores use them, so a row means the same thing on SQLite and on Neo4j.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from graphsvc.ingest import keys
from graphsvc.ingest.contract import LinkRole, RejectReason

#: per fact table: the hash namespace and the columns of the natural key
#: tables whose rows link applicants to identifiers
LINKED = ("applications", "identifiers", "contacts")
FACT_KEYS = {
    "identifiers": ("sightings", ("applicant_id", "kind", "value", "observed_at")),
    "contacts": ("contacts", ("applicant_id", "contact_phone", "relation", "source", "recorded_at")),
    "outcomes": ("outcomes", ("applicant_id", "outcome", "observed_at", "phone")),
    "relations": ("relations", ("src_applicant_id", "dst_applicant_id", "type", "at", "amount")),
}


def stage(table: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Hash natural keys: ``_fact`` (fact rows), ``_h`` or ``_h:<kind>`` (identifiers,
    -1 where missing), so a writer only looks them up.

    For rows that link applicants to identifiers, also number the batch's applicants
    (column ``_a``, codes into ``applicant_keys``), so that a writer looks up each
    applicant once. Returns the rows and those extras. (Aggregating the links here
    too was measured: on two cores, pickling them to the writer cost more than it
    saved.)
    """
    rows = rows.copy()

    def identifier_hashes(kinds: pd.Series | str, values: pd.Series) -> np.ndarray:
        out = np.full(len(values), -1, dtype=np.int64)
        kinds = pd.Series(kinds, index=values.index) if isinstance(kinds, str) else kinds
        present = values.notna().to_numpy()
        for kind in pd.unique(kinds[present]):
            part = present & (kinds == kind).to_numpy()
            out[part] = keys.identifier_ids(str(kind), values[part].to_numpy(object))
        return out

    if table == "applications":
        rows["_fact"] = keys.salted("application", rows["application_id"].to_numpy(object))
        for column in [c for c in rows.columns if c.startswith("id:")]:
            rows[f"_h:{column[3:]}"] = identifier_hashes(column[3:], rows[column])
    elif table in FACT_KEYS:
        rows["_fact"] = keys.row_ids(FACT_KEYS[table][0], [rows[c] for c in FACT_KEYS[table][1]])
        if table == "identifiers":
            rows["_h"] = identifier_hashes(rows["kind"], rows["value"])
        elif table == "contacts":
            rows["_h"] = identifier_hashes("phone", rows["contact_phone"])
        elif table == "outcomes":
            rows["_h"] = identifier_hashes("phone", rows["phone"])
    if table in LINKED:
        codes, uniques = pd.factorize(np.asarray(rows["applicant_id"], dtype=object))
        rows["_a"] = codes
        return rows, {"applicant_keys": np.asarray(uniques, dtype=object)}
    return rows, {}


def sightings(table: str, rows: pd.DataFrame, applicant: np.ndarray) -> dict[str, np.ndarray]:
    """Identifier sightings of staged fact rows, as columns: applicant (given per row),
    identifier (the staged hash), kind, value, role, relation, seen, name, source."""
    def column(values, n: int | None = None) -> np.ndarray:
        if n is not None:
            return np.full(n, values, dtype=object)
        return np.asarray(values, dtype=object)

    if table == "applications":
        parts = []
        for name in (c for c in rows.columns if c.startswith("id:")):
            present = rows[name].notna().to_numpy()
            n = int(present.sum())
            if n:
                parts.append({"applicant": np.asarray(applicant)[present],
                              "identifier": rows[f"_h:{name[3:]}"].to_numpy(np.int64)[present],
                              "kind": column(name[3:], n), "value": column(rows[name])[present],
                              "role": column(str(LinkRole.OWN), n), "relation": column("", n),
                              "seen": pd.to_numeric(rows["applied_at"]).to_numpy(float)[present]})
        if not parts:
            return {"applicant": np.zeros(0, dtype=np.int64), "identifier": np.zeros(0, dtype=np.int64),
                    "seen": np.zeros(0), **{k: np.zeros(0, dtype=object) for k in ("kind", "value", "role",
                                                                                   "relation")}}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(rows)
    if table == "identifiers":
        return {"applicant": np.asarray(applicant), "identifier": rows["_h"].to_numpy(np.int64),
                "kind": column(rows["kind"]), "value": column(rows["value"]), "role": column(str(LinkRole.OWN), n),
                "relation": column("", n), "seen": pd.to_numeric(rows["observed_at"]).to_numpy(float)}
    if table == "contacts":
        return {"applicant": np.asarray(applicant), "identifier": rows["_h"].to_numpy(np.int64),
                "kind": column("phone", n), "value": column(rows["contact_phone"]),
                "role": column(str(LinkRole.CONTACT), n), "relation": column(rows["relation"]),
                "seen": pd.to_numeric(rows["recorded_at"]).to_numpy(float),
                "name": column(rows["contact_name"]), "source": column(rows["source"])}
    raise ValueError(f"{table} rows carry no identifiers")


def aggregate_links(links) -> dict[str, np.ndarray]:
    """One increment per (applicant, identifier, role, relation) from new sightings.

    ``links`` holds the columns :func:`sightings` gives (name and source optional),
    applicant and identifier as integers. Returns the keys with first_seen and
    last_seen (float seconds, NaN when undated), count, and the kind, value, name
    and source of the latest sighting, sorted by applicant and identifier. A numpy
    sort and ``reduceat`` over integer keys: pandas' groupby was the slowest step of
    a load.
    """
    n = len(links["applicant"])
    if not n:
        return {c: np.zeros(0, dtype=np.int64 if c in ("applicant", "identifier", "count")
                            else float if c in ("first_seen", "last_seen") else object) for c in AGGREGATED}
    seen = pd.to_numeric(pd.Series(links["seen"]), errors="coerce").to_numpy(float)
    role_code, roles = pd.factorize(np.asarray(links["role"], dtype=object), use_na_sentinel=False)
    relation_code, relations = pd.factorize(np.asarray(links["relation"], dtype=object), use_na_sentinel=False)
    width = max(len(relations), 1)
    pair = role_code.astype(np.int64) * width + relation_code
    applicant = np.asarray(links["applicant"], dtype=np.int64)
    identifier = np.asarray(links["identifier"], dtype=np.int64)
    # least significant key first; the time of the sighting matters only for the
    # name and source a contact gave last (stable argsorts beat np.lexsort here)
    sort_keys = [pair, identifier, applicant]
    if "name" in links or "source" in links:
        sort_keys.insert(0, np.nan_to_num(seen, nan=-np.inf))
    order = np.arange(n)
    for key in sort_keys:
        order = order[np.argsort(key[order], kind="stable")]
    applicant, identifier, pair, seen = applicant[order], identifier[order], pair[order], seen[order]
    starts = np.flatnonzero(np.concatenate([[True], (applicant[1:] != applicant[:-1])
                                            | (identifier[1:] != identifier[:-1]) | (pair[1:] != pair[:-1])]))
    ends = np.append(starts[1:], n) - 1
    with np.errstate(invalid="ignore"):
        first = np.fmin.reduceat(seen, starts)
        last = np.fmax.reduceat(seen, starts)
    picked = pair[starts]
    out = {
        "applicant": applicant[starts], "identifier": identifier[starts],
        "role": np.asarray(roles, dtype=object)[picked // width],
        "relation": np.asarray(relations, dtype=object)[picked % width],
        "first_seen": first, "last_seen": last, "count": np.diff(np.append(starts, n)),
    }
    for column in ("kind", "value", "name", "source"):
        out[column] = (np.asarray(links[column], dtype=object)[order[ends]] if column in links
                       else np.full(len(starts), None, dtype=object))
    return out


#: the columns :func:`aggregate_links` returns
AGGREGATED = ("applicant", "identifier", "role", "relation", "first_seen", "last_seen", "count", "kind", "value",
              "name", "source")


def lookup(sorted_keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in ``sorted_keys`` and whether each is there (positions
    of absent values are arbitrary)."""
    if not len(sorted_keys):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return at, sorted_keys[at] == wanted


def stamps(values: np.ndarray) -> list:
    """Float seconds as ints, NaN as None (what a database binds)."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    if not missing.any():
        return values.astype(np.int64).tolist()
    out = np.where(missing, 0, values).astype(np.int64).astype(object)
    out[missing] = None
    return out.tolist()


#: the validated columns of the tables whose rows wait for their applicant (pending facts)
PENDING_COLUMNS = {
    "identifiers": ("row", "applicant_id", "kind", "value", "observed_at"),
    "contacts": ("row", "applicant_id", "contact_phone", "relation", "source", "contact_name", "recorded_at"),
    "outcomes": ("row", "applicant_id", "outcome", "observed_at", "phone"),
    "relations": ("row", "src_applicant_id", "dst_applicant_id", "type", "at", "amount"),
}


def waiting(rows: pd.DataFrame, missing: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows naming an applicant not stored yet, given a mask per applicant column: the
    mask of those rows and, per row, the applicant key it waits for (the first column
    missing; a relation whose other end is missing too waits again once this one comes)."""
    wait = np.zeros(len(rows), dtype=bool)
    key = np.full(len(rows), None, dtype=object)
    for column, mask in missing.items():
        first = np.asarray(mask, dtype=bool) & ~wait
        if first.any():
            key[first] = rows[column].to_numpy(object)[first]
            wait |= first
    return wait, key


def pending_records(table: str, rows: pd.DataFrame, keys: np.ndarray, now: int) -> list[dict]:
    """Waiting rows as the stores keep them: ``hash`` (the fact's), ``table``, ``waiting``
    (the applicant key), ``since`` (when first kept, epoch seconds) and ``body`` (the
    validated row as JSON); one record per fact (a repeat within the batch is left out)."""
    first = ~rows["_fact"].duplicated().to_numpy()
    columns = PENDING_COLUMNS[table]
    since = (rows["_since"].to_numpy(object) if "_since" in rows else np.full(len(rows), now, dtype=object))
    bodies = [json.dumps(dict(zip(columns, values)), ensure_ascii=False)
              for values in plain_rows(rows.loc[first, list(columns)])]
    return [{"hash": int(h), "table": table, "waiting": str(k), "since": int(s), "body": b}
            for h, k, s, b in zip(rows["_fact"].to_numpy(np.int64)[first], keys[first], since[first], bodies)]


def pending_frame(table: str, records: list[dict]) -> pd.DataFrame:
    """Rows of ``table`` from kept records (``body`` and ``since``), in the validated layout
    the loader gives, with ``_since`` so that a row waiting again keeps its first time."""
    columns = PENDING_COLUMNS[table]
    frame = pd.DataFrame([json.loads(r["body"]) for r in records], columns=list(columns))
    for column in columns:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["_since"] = [int(r["since"]) for r in records]
    return frame


def plain_rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows of plain Python values (numpy scalars unboxed, missing as None), as a
    database driver binds them."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
    return list(zip(*columns))


def rejects_frame(rows: pd.DataFrame, mask: np.ndarray, column: str, reason: str, detail: str) -> pd.DataFrame:
    """Reject rows of ``rows`` under ``mask`` for one reason (:data:`~graphsvc.store.base.REJECT_COLUMNS`)."""
    picked = rows.loc[mask, "row"]
    return pd.DataFrame({"row": picked.to_numpy(), "column": column, "reason": str(reason), "detail": detail})


def repeated_applications(rows: pd.DataFrame) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Drop applications repeated within a batch: the same content counts as a duplicate,
    the same application_id with other content is rejected. Returns the rest, the
    number of duplicates and the rejects."""
    identical = rows.duplicated(["application_id", "digest"]).to_numpy()
    rows = rows.loc[~identical].reset_index(drop=True)
    reused = rows.duplicated("application_id").to_numpy()
    rejects = rejects_frame(rows, reused, "application_id", RejectReason.CONFLICTING_DUPLICATE,
                            "application_id appears earlier in this file with different content")
    return rows.loc[~reused].reset_index(drop=True), int(identical.sum()), rejects


def stored_applications(rows: pd.DataFrame, stored_digest: np.ndarray) -> tuple[np.ndarray, int, pd.DataFrame]:
    """Compare applications with what is stored under their ids (``stored_digest``, NaN
    when new). Returns the mask of new rows, the number of duplicates (same content)
    and the rejects (other content)."""
    exists = ~pd.isna(stored_digest)
    same = exists & (stored_digest == rows["digest"].to_numpy())
    rejects = rejects_frame(rows, exists & ~same, "application_id", RejectReason.CONFLICTING_DUPLICATE,
                            "application_id already loaded with different content")
    return ~exists, int(same.sum()), rejects


def stated_consents(applicant: np.ndarray, rows: pd.DataFrame) -> list[tuple[int, str, int]]:
    """``(applicant, consents, applied_at)`` of the applications that state consents,
    the newest per applicant (of two at the same time, the one granting less)."""
    if "consents" not in rows:
        return []
    stated = rows["consents"].notna().to_numpy()
    if not stated.any():
        return []
    part = pd.DataFrame({"applicant": np.asarray(applicant)[stated],
                         "consents": rows["consents"].to_numpy(object)[stated],
                         "at": rows["applied_at"].to_numpy(np.int64)[stated]})
    part = part.sort_values(["applicant", "at", "consents"], ascending=[True, True, False])
    newest = part.drop_duplicates("applicant", keep="last")
    return list(zip(newest["applicant"].tolist(), newest["consents"].tolist(), newest["at"].tolist()))
