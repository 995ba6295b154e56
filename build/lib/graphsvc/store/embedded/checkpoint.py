"""Moving the write-ahead log into the database file from a background thread."""

from __future__ import annotations

import threading
from pathlib import Path

from graphsvc.store.embedded.sql import Connection, ConnectionClosedError, connect


class Checkpointer:
    """Passive checkpoints, twice a second, on a connection of their own.

    Many commits (score-on-write) or large ones (a bulk load) would otherwise make
    the committing connection copy the log into the file while its caller waits.
    Here the writer never checkpoints (``wal_autocheckpoint=0``); a passive
    checkpoint never blocks it, and runs on the other core.
    """

    def __init__(self, db: Path, writer: Connection, interval: float = 0.5) -> None:
        self._writer = writer
        self._previous = writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        writer.execute("PRAGMA wal_autocheckpoint=0")
        self._stop = threading.Event()

        def run() -> None:
            con = connect(db)
            try:
                while not self._stop.wait(interval):
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                con.close()

        self._thread = threading.Thread(target=run, name="graphsvc-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give checkpointing back to the writer."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._writer.execute(f"PRAGMA wal_autocheckpoint={int(self._previous)}")
        except ConnectionClosedError:  # the connection is already closed
            pass
