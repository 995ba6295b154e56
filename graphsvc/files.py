"""Files graphsvc writes that may hold personal data (the store, rejects, exports,
reports, pictures): owner-only, mode 0600, whatever the process's umask.

A file is created (or narrowed) with that mode before anything is written to it,
so its content is never readable by others, not even for a moment; writers that
open it afterwards truncate it and keep the mode.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from graphsvc.errors import InputError

PRIVATE = 0o600


def private(path: str | Path) -> Path:
    """``path`` created empty if missing, and owner-only (0600) either way."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)
    finally:
        os.close(descriptor)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to an owner-only file."""
    path = private(path)
    path.write_text(text, encoding="utf-8")
    return path


def write_frame(frame: pd.DataFrame, path: str | Path, form: str | None = None) -> Path:
    """Write ``frame`` to an owner-only file as ``form`` (``parquet`` or ``csv``; by default
    from the suffix). Raises ValueError for any other form, before creating anything."""
    path = Path(path)
    form = form or path.suffix.lstrip(".")
    if form not in ("parquet", "csv"):
        raise InputError(f"{path}: write .parquet or .csv")
    private(path)
    if form == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
