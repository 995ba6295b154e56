"""A recording stand-in for the neo4j driver and the GDS client.

It records every statement as (query name, parameters, transaction number) and
answers from a responder, so tests assert the exact Cypher and parameters each
store operation emits without a server. Query names come from the library
header the text must start with, and the text must be the library's own.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from graphsvc import queries

Responder = Callable[[str, dict], list[dict]]


def name_of(text: str) -> str:
    first = text.splitlines()[0]
    assert first.startswith("// name: "), f"not a library query: {text[:80]!r}"
    name = first.removeprefix("// name: ")
    assert text == queries.get(name).text, f"{name}: text differs from queries/{name}.cypher"
    return name


class Recorder:
    """Driver double: ``session()`` like neo4j.Driver; ``run_cypher`` like GraphDataScience."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder = responder or (lambda name, parameters: [])
        self.calls: list[tuple[str, dict, int]] = []
        self.transactions: list[str] = []  # "read" or "write", in order
        self.closed = False

    def session(self, database: str | None = None, default_access_mode: str | None = None) -> Session:
        return Session(self, database)

    def close(self) -> None:
        self.closed = True

    def named(self, name: str) -> list[dict]:
        """Parameters of every call of one query."""
        return [parameters for called, parameters, _ in self.calls if called == name]

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def run_cypher(self, query: str, params: dict | None = None) -> pd.DataFrame:
        self.transactions.append("gds")
        name = name_of(query)
        self.calls.append((name, dict(params or {}), len(self.transactions) - 1))
        return pd.DataFrame(self.responder(name, dict(params or {})))


class Session:
    def __init__(self, recorder: Recorder, database: str | None) -> None:
        self.recorder, self.database = recorder, database

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute_read(self, work):
        self.recorder.transactions.append("read")
        return work(Tx(self.recorder))

    def execute_write(self, work):
        self.recorder.transactions.append("write")
        return work(Tx(self.recorder))


class Tx:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def run(self, query: str, parameters: dict | None = None) -> Result:
        name = name_of(query)
        parameters = dict(parameters or {})
        self.recorder.calls.append((name, parameters, len(self.recorder.transactions) - 1))
        return Result(self.recorder.responder(name, parameters))


class Result:
    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def data(self) -> list[dict]:
        return list(self.rows)
