"""The service: one object over one store, which every edge calls. Notebooks get it
from :func:`graphsvc.open`; the API's routes and the CLI's commands parse their
input, make one call to it and render the answer.

In: a :class:`~graphsvc.store.Store` and the settings. Out: pandas frames, networkx
graphs and plain dicts. Its methods come in groups, one module each:

* :mod:`~graphsvc.service.lookups`: identifiers and applicants by natural key, their
  links, the audit trail;
* :mod:`~graphsvc.service.exploring`: neighbourhoods, evidence paths, ring graphs;
* :mod:`~graphsvc.service.runs`: re-score runs (here or as jobs), serving, rings,
  scores, reasons, features, fitting and evaluations;
* :mod:`~graphsvc.service.people`: skip-tracing and the rights of the people held;

and, here, loading files, score-on-write and the Cypher library.

Look-ups take identifier values as people write them (``138 0013 8000``) and
normalise them exactly as the loader does, so a notebook never needs to know the
canonical form.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graphsvc.errors import ConfigurationError, InputError
from graphsvc.ingest.sources import TableSource
from graphsvc.service.exploring import Exploring, node_id
from graphsvc.service.lookups import Lookups
from graphsvc.service.people import People
from graphsvc.service.runs import Runs
from graphsvc.settings import Settings, get_settings
from graphsvc.store import Store, open_store

__all__ = ["Service", "node_id", "open", "query_library"]


class Service(Lookups, Exploring, Runs, People):
    """Access to one store, by natural keys.

    Parameters
    ----------
    store : Store
        The store of record.
    settings : Settings, optional
        For look-up normalisation (phone region, identity-number key).
    """

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or get_settings()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def background_checkpoints(self):
        """Start the housekeeping the store needs off the request path (the embedded file
        checkpoints its write-ahead log from a thread): a handle whose ``stop()`` ends it,
        or None when it needs none."""
        return self.store.background_checkpoints()

    def load(self, sources: list[TableSource], *, progress=None):
        """Load table sources (contract files, mapped sources) into the store
        (:func:`graphsvc.ingest.loader.load`): bad fields quarantined, bad rows rejected with a
        reason, what is done skipped on a re-run. Returns the load report."""
        from graphsvc.ingest.loader import load

        return load(self.store, sources, settings=self.settings, progress=progress)

    def score_application(self, application: dict, contacts: list[dict], *, dry_run: bool = False,
                          budget_ms: float | None = None) -> dict:
        """Store one application with its contacts and score it from its bounded
        neighbourhood and the served run (:func:`graphsvc.online.scoring.score_on_write`),
        within ``budget_ms`` counted from the write (default: the settings'
        ``score_budget_ms``). The answer holds the score, band, reasons, ``stored`` and
        ``ignored`` (the optional values left out).

        Raises
        ------
        InvalidApplicationError
            For a missing or unusable key field, or an erased applicant.
        ConflictError
            When the application id is stored with other content (also for a dry run).

        Examples
        --------
        A new applicant on a ring member's device, with one contact whose number is no phone:

        >>> answer = svc.score_application(
        ...     {"application_id": "DOC-1", "applicant_id": "NEW-1", "applied_at": "2026-11-30T10:00:00Z",
        ...      "phone": "138 0013 8000", "device_id": "0f5a7d97-b71f-69d4-3235-a23fb53955a7"},
        ...     [{"contact_phone": "not a phone"}], dry_run=True)
        >>> answer["band"], answer["stored"], [reason["code"] for reason in answer["reasons"]]
        ('high', False, ['RING_MEMBER', 'SHARES_WITH_FRAUD', 'FRAUD_PROXIMITY', 'DEFAULT_PROXIMITY'])
        >>> answer["ignored"]
        [{'field': 'contacts[0].contact_phone', 'reason': 'invalid_phone',
          'detail': 'not a valid phone number (default region CN)'}]
        """
        from graphsvc.online.scoring import score_on_write

        budget = self.settings.score_budget_ms if budget_ms is None else budget_ms
        return score_on_write(self.store, application, contacts, self.settings, dry_run=dry_run, budget_ms=budget)

    def query(self, name: str, **parameters) -> pd.DataFrame:
        """Run a named query of the Cypher library (``queries/``, e.g.
        ``investigate/contact_cycles``) on the Neo4j backend.

        Raises
        ------
        ConfigurationError
            On the embedded store, which speaks SQL, not Cypher.
        NotFoundError
            For an unknown query name.
        """
        from graphsvc.store.base import NO_CYPHER
        from graphsvc.store.neo4j import queries

        if not self.store.speaks_cypher:
            raise ConfigurationError(NO_CYPHER)
        query = queries.get(name)
        missing = set(query.parameters) - set(parameters)
        if missing:
            raise InputError(f"{name} needs parameters {sorted(missing)}")
        return pd.DataFrame(self.store.query(name, **parameters))


def query_library() -> pd.DataFrame:
    """The named queries of the Cypher library: name, parameters and description.

    Examples
    --------
    >>> library = query_library()
    >>> len(library), library["name"].head(2).tolist()
    (98, ['gds/drop', 'gds/leiden'])
    """
    from graphsvc.store.neo4j import queries

    return pd.DataFrame([{"name": q.name, "parameters": ", ".join(q.parameters), "description": q.description}
                         for q in queries.library()], columns=["name", "parameters", "description"])


def open(path: str | Path | None = None, *, readonly: bool = False,  # noqa: A001
         settings: Settings | None = None) -> Service:
    """Open the store for notebooks and scripts: the embedded file at ``path``, or
    Neo4j when the settings say ``backend="neo4j"`` (``path`` is then not used).

    Examples
    --------
    >>> import graphsvc
    >>> with graphsvc.open("demo-data/graph.db", readonly=True) as svc:
    ...     graph = svc.ego_network("A00001353", hops=2)
    >>> graph.number_of_nodes()
    34
    """
    settings = settings or get_settings()
    if path is None and settings.backend == "embedded":
        raise InputError("graphsvc.open needs the store file's path (or settings with backend='neo4j')")
    return Service(open_store(str(path), readonly=readonly, settings=settings), settings)
