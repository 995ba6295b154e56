"""A recording stand-in for the neo4j driver and the GDS client.

It records every statement as (query name, parameters, transaction number) and
answers from a responder, so tests assert the exact Cypher and parameters each
store operation emits without a server. Query names come from the library
header the text must start with, and the text must be the library's own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pandas as pd

from graphsvc.store.neo4j import queries

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

    def __iter__(self):
        return (Record(row) for row in self.rows)


class Record:
    def __init__(self, row: dict) -> None:
        self.row = row

    def values(self) -> list:
        return list(self.row.values())


class Tap:
    """A real driver (and its GDS ``run_cypher``) that records what passes through:
    every statement's query name and parameters with the rows the server returned,
    in order. Its recording replays through :class:`Recorder` with :func:`replayer`."""

    def __init__(self, driver, run_cypher) -> None:
        self.driver, self.gds = driver, run_cypher
        self.calls: list[dict] = []

    def session(self, database: str | None = None, default_access_mode: str | None = None):
        return _TapSession(self, self.driver.session(database=database, default_access_mode=default_access_mode))

    def run_cypher(self, query: str, params: dict | None = None) -> pd.DataFrame:
        answer = self.gds(query, params)
        self.calls.append({"name": name_of(query), "parameters": copy.deepcopy(dict(params or {})),
                           "rows": answer.to_dict("records")})
        return answer

    def close(self) -> None:
        self.driver.close()


class _TapSession:
    def __init__(self, tap: Tap, session) -> None:
        self.tap, self.session = tap, session

    def __enter__(self):
        self.session.__enter__()
        return self

    def __exit__(self, *exc):
        return self.session.__exit__(*exc)

    def execute_read(self, work):
        return self.session.execute_read(lambda tx: work(_TapTx(self.tap, tx)))

    def execute_write(self, work):
        return self.session.execute_write(lambda tx: work(_TapTx(self.tap, tx)))


class _TapTx:
    def __init__(self, tap: Tap, tx) -> None:
        self.tap, self.tx = tap, tx

    def run(self, query: str, parameters: dict | None = None) -> Result:
        rows = self.tx.run(query, parameters).data()
        self.tap.calls.append({"name": name_of(query), "parameters": copy.deepcopy(dict(parameters or {})),
                               "rows": copy.deepcopy(rows)})  # as answered: the store may change its rows
        return Result(rows)


def replayer(recording: list[dict], canonical: Callable[[object], object]) -> Responder:
    """A responder that answers each statement with the recorded rows of the same
    position, after checking it is the recorded statement with the recorded
    parameters (compared in ``canonical`` form)."""
    position = iter(range(len(recording) + 1))

    def respond(name: str, parameters: dict) -> list[dict]:
        n = next(position)
        assert n < len(recording), f"statement {n} ({name}) was not in the live recording"
        expected = recording[n]
        assert name == expected["name"], f"statement {n}: {name}, live: {expected['name']}"
        assert canonical(parameters) == canonical(expected["parameters"]), f"statement {n} ({name}): parameters differ"
        return copy.deepcopy(expected["rows"])

    return respond
