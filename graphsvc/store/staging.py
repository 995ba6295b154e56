"""Backend-neutral work on a batch before it meets a database.

:func:`stage` hashes natural keys (run by the loader in a forked child, beside
the writer); :func:`aggregate_links` folds new facts into one increment per link.
Both stores use them, so a row means the same thing on SQLite and on Neo4j.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphsvc import keys
from graphsvc.contract import Reason

#: per fact table: the hash namespace and the columns of the natural key
FACT_KEYS = {
    "identifiers": ("sightings", ("applicant_id", "kind", "value", "observed_at")),
    "contacts": ("contacts", ("applicant_id", "contact_phone", "relation", "source", "recorded_at")),
    "outcomes": ("outcomes", ("applicant_id", "outcome", "observed_at", "phone")),
    "relations": ("relations", ("src_applicant_id", "dst_applicant_id", "type", "at", "amount")),
}


def stage(table: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Hash natural keys: ``_fact`` (fact rows), ``_h`` or ``_h:<kind>`` (identifiers,
    -1 where missing), so a writer only looks them up."""
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
    return rows


def aggregate_links(links: pd.DataFrame) -> pd.DataFrame:
    """One increment per (applicant, identifier, role, relation) from new facts.

    ``links`` holds applicant, identifier (any integer keys), role, relation, seen
    and optionally name and source. Returns those keys with first_seen and
    last_seen (float seconds, NaN when undated), count, and the name and source of
    the latest sighting. Aggregation is a numpy sort and ``reduceat`` over integer
    keys: pandas' groupby was the slowest step of a load.
    """
    n = len(links)
    columns = ["applicant", "identifier", "role", "relation", "first_seen", "last_seen", "count", "name", "source"]
    if not n:
        return pd.DataFrame(columns=columns)
    seen = pd.to_numeric(pd.Series(links["seen"]), errors="coerce").to_numpy(float)
    pair, pairs = pd.factorize(pd.MultiIndex.from_arrays([links["role"], links["relation"]]))
    applicant = links["applicant"].to_numpy(np.int64)
    identifier = links["identifier"].to_numpy(np.int64)
    order = np.lexsort((np.nan_to_num(seen, nan=-np.inf), pair, identifier, applicant))
    applicant, identifier, pair, seen = applicant[order], identifier[order], pair[order], seen[order]
    starts = np.flatnonzero(np.concatenate([[True], (applicant[1:] != applicant[:-1])
                                            | (identifier[1:] != identifier[:-1]) | (pair[1:] != pair[:-1])]))
    ends = np.append(starts[1:], n) - 1
    with np.errstate(invalid="ignore"):
        first = np.fmin.reduceat(seen, starts)
        last = np.fmax.reduceat(seen, starts)
    picked = pairs[pair[starts]]
    out = {
        "applicant": applicant[starts], "identifier": identifier[starts],
        "role": picked.get_level_values(0).to_numpy(object),
        "relation": picked.get_level_values(1).to_numpy(object),
        "first_seen": first, "last_seen": last, "count": np.diff(np.append(starts, n)),
    }
    for column in ("name", "source"):
        out[column] = (links[column].to_numpy(object)[order][ends] if column in links
                       else np.full(len(starts), None, dtype=object))
    return pd.DataFrame(out, columns=columns)


def stamps(values: np.ndarray) -> list:
    """Float seconds as ints, NaN as None (what a database binds)."""
    return [None if v != v else int(v) for v in np.asarray(values, dtype=float).tolist()]


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
    rejects = rejects_frame(rows, reused, "application_id", Reason.CONFLICTING_DUPLICATE,
                            "application_id appears earlier in this file with different content")
    return rows.loc[~reused].reset_index(drop=True), int(identical.sum()), rejects


def stored_applications(rows: pd.DataFrame, stored_digest: np.ndarray) -> tuple[np.ndarray, int, pd.DataFrame]:
    """Compare applications with what is stored under their ids (``stored_digest``, NaN
    when new). Returns the mask of new rows, the number of duplicates (same content)
    and the rejects (other content)."""
    exists = ~pd.isna(stored_digest)
    same = exists & (stored_digest == rows["digest"].to_numpy())
    rejects = rejects_frame(rows, exists & ~same, "application_id", Reason.CONFLICTING_DUPLICATE,
                            "application_id already loaded with different content")
    return ~exists, int(same.sum()), rejects
