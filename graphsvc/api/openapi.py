"""Write the committed OpenAPI snapshot (``docs/openapi.json``) that a test diffs.

    python -m graphsvc.api.openapi [PATH]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from graphsvc.api import create_app
from graphsvc.service import open as open_service
from graphsvc.settings import Settings


def document() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "graph.db"
        open_service(db, settings=Settings()).close()  # a new, empty store
        app = create_app(db, Settings())
        out = app.openapi()
        app.state.checkpointer.stop()
        app.state.graphsvc.service.close()
        return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json")
    target.write_text(json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {target}")
