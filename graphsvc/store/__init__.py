"""Stores of record: one interface (:mod:`.base`), one implementation per backend."""

from graphsvc.store.base import Batch, BatchOrigin, BatchResult, Store

__all__ = ["Batch", "BatchOrigin", "BatchResult", "Store", "open_store"]


def open_store(path: str, *, readonly: bool = False) -> Store:
    """Open the embedded store at ``path`` (created when missing unless read-only)."""
    from graphsvc.store.embedded import EmbeddedStore

    return EmbeddedStore(path, readonly=readonly)
