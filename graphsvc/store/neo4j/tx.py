"""Running named queries inside a Neo4j transaction, with plain Python parameters."""

from __future__ import annotations

from typing import Any

import pandas as pd

from graphsvc.store.neo4j import queries
from graphsvc.store.staging import plain_rows

CHUNK = 10_000  # rows per UNWIND statement; a batch's statements share one transaction


def run(tx: Any, name: str, **parameters: Any) -> list[dict]:
    """Run the named query in ``tx`` and return its records as dicts (an error it
    raises carries the query's name as a note)."""
    try:
        return tx.run(queries.get(name).text, parameters).data()
    except Exception as exc:
        exc.add_note(f"query {name}")
        raise


def run_values(tx: Any, name: str, **parameters: Any) -> list[list]:
    """Run the named query and return each record's values as a list, without the
    per-value conversion of ``.data()``: for the whole-graph reads, whose records
    carry long lists of plain values (ids, refs, times)."""
    try:
        return [record.values() for record in tx.run(queries.get(name).text, parameters)]
    except Exception as exc:
        exc.add_note(f"query {name}")
        raise


def run_rows(tx: Any, name: str, rows: list[dict], **parameters: Any) -> list[dict]:
    """Run a ``$rows`` query over ``rows`` in chunks of :data:`CHUNK`, in the same transaction."""
    out: list[dict] = []
    for start in range(0, len(rows), CHUNK):
        out.extend(run(tx, name, rows=rows[start:start + CHUNK], **parameters))
    return out


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (numpy scalars unboxed, missing as None)."""
    columns = list(frame.columns)
    return [dict(zip(columns, row)) for row in plain_rows(frame)]


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Records as a DataFrame with the given columns (also when there are none)."""
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
