"""Stores of record: one interface (:mod:`.base`), one implementation per backend."""

from __future__ import annotations

from graphsvc.store.base import Batch, BatchOrigin, BatchResult, Store

__all__ = ["Batch", "BatchOrigin", "BatchResult", "Store", "open_store"]


def open_store(path: str, *, readonly: bool = False, settings=None) -> Store:
    """Open the store the settings select (``GRAPHSVC_BACKEND``).

    ``embedded`` (the default): the SQLite file at ``path``, created when missing
    unless read-only. ``neo4j``: the database of ``GRAPHSVC_NEO4J_URI`` (``path`` is
    not used).
    """
    from graphsvc.settings import get_settings

    settings = settings or get_settings()
    if settings.backend == "neo4j":
        from graphsvc.store.neo4j import Neo4jStore

        return Neo4jStore.connect(settings, readonly=readonly)
    from graphsvc.store.embedded import EmbeddedStore

    return EmbeddedStore(path, readonly=readonly)
