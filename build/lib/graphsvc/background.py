"""Work on the second core: a forked child produces what this process will need next.

:func:`ahead` runs ``make()`` in a forked child as soon as it is called and hands
its items over one at a time: the loader reads and validates the next batch while
it writes the current one; a re-score computes the feature table while it links,
finds rings and propagates. The child shares the loaded modules and data (fork)
and never touches the store; a watchdog thread ends it at once if this process
dies. Errors are re-raised here. Where fork is unavailable, or ``parallel`` is
false, the items are produced inline, when asked for.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator

#: from this many applicants on, a re-score or a fit computes its feature table in a
#: child beside the linkage (a million applicants: 11 s of features, hidden)
PARALLEL_ROWS = 200_000


def ahead(make: Callable[[], Iterator], parallel: bool) -> Iterator:
    """The items of ``make()``, produced ahead in a child process started now."""
    if not parallel or "fork" not in mp.get_all_start_methods():
        return _inline(make)
    context = mp.get_context("fork")
    box = context.Queue(maxsize=1)
    parent = os.getpid()

    def work() -> None:
        def watch() -> None:
            # A dead parent must never leave this process behind: its queue's feeder
            # thread could wait forever on a pipe nobody reads, holding the parent's
            # stdout open.
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(0)

        threading.Thread(target=watch, name="graphsvc-watch", daemon=True).start()
        try:
            for item in make():
                box.put(("item", item))
            box.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent
            box.put(("error", exc))
        box.close()
        box.join_thread()

    child = context.Process(target=work, name="graphsvc-ahead", daemon=True)
    child.start()
    return _collect(child, box)


def _inline(make: Callable[[], Iterator]) -> Iterator:
    yield from make()


def _collect(child, box) -> Iterator:
    try:
        while True:
            try:
                kind, payload = box.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the background worker stopped unexpectedly (exit code {child.exitcode})"
                                       ) from None
                continue
            if kind == "error":
                raise payload
            if kind == "done":
                return
            yield payload
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        box.close()
