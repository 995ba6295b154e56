"""The ``graphsvc`` command line, one module per family of commands: loading
(:mod:`.loading`), scoring (:mod:`.scoring`), evaluation (:mod:`.evaluation`) and serving
(:mod:`.serving`), over what they share (:mod:`.common`).

Run as ``graphsvc`` (console script) or ``python -m graphsvc.cli``.
"""

from graphsvc.cli import evaluation, loading, scoring, serving  # noqa: F401 - importing them registers the commands
from graphsvc.cli.common import app

__all__ = ["app"]
