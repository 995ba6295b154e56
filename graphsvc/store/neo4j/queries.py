"""The Cypher query library in ``queries/``: one named, parameterised query per file.

Every file starts with a header of ``//`` lines::

    // name: store/merge_links
    // description: what the query does
    // parameters: $rows (list of maps: ...), $as_of (integer or null)
    // returns: applicant_id, kind, value

The name is the file's path under ``queries/`` without ``.cypher``; the
parameters the header declares are exactly those the body uses (checked when
loaded). Values always travel as parameters; the only text the code puts into
Cypher is a label or relationship type from :data:`LABELS` and :data:`REL_TYPES`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphsvc.errors import ConfigurationError, InputError, NotFoundError

#: node labels the backend writes (docs/neo4j.md): built-in identifier kinds have a label of their own
LABELS = ("Applicant", "Application", "Identifier", "Device", "Phone", "IP", "IdNumber", "Fact", "Outcome",
          "Batch", "Reject", "Pending", "Promotion", "Run", "Ring", "Access", "Tombstone", "Review")
#: relationship types the backend writes
REL_TYPES = ("APPLIED", "HAS", "HAD", "ON_PHONE", "RELATED", "SCORED", "FOUND", "MEMBER", "HUB")
_KIND_LABELS = {"phone": "Phone", "device": "Device", "ip": "IP", "id_number": "IdNumber"}
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def kind_label(kind: str) -> str:
    """The extra node label of an identifier kind (``device`` -> ``Device``, ``ip`` -> ``IP``;
    a declared kind such as ``bank_card`` -> ``BankCard``)."""
    label = _KIND_LABELS.get(kind) or "".join(part.capitalize() for part in kind.split("_"))
    if not _LABEL.match(label):
        raise InputError(f"identifier kind {kind!r} gives no valid label")
    return label


@dataclass(frozen=True)
class Query:
    """One query of the library."""

    name: str
    text: str  # the whole file, header included (comments are Cypher too)
    description: str
    parameters: tuple[str, ...]  # declared names, without $
    returns: str

    def __str__(self) -> str:
        return self.text


def folder() -> Path:
    """Where the library lives: ``GRAPHSVC_QUERIES_DIR``, else ``graphsvc/cypher`` in an
    installed wheel (built from ``queries/``), else ``queries/`` beside the package in a checkout."""
    configured = os.environ.get("GRAPHSVC_QUERIES_DIR")
    package = Path(__file__).resolve().parents[2]  # graphsvc/, this is graphsvc/store/neo4j/queries.py
    path = Path(configured) if configured else next(
        (p for p in (package / "cypher", package.parent / "queries") if p.is_dir()), package.parent / "queries")
    if not path.is_dir():
        raise ConfigurationError(f"no Cypher query library at {path} (set GRAPHSVC_QUERIES_DIR)")
    return path


def parse(name: str, text: str) -> Query:
    """A query from its file text; raises ValueError for a bad or dishonest header."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        key, _, value = line[2:].strip().partition(":")
        header[key.strip()] = value.strip()
    missing = {"name", "description", "parameters", "returns"} - set(header)
    if missing:
        raise ValueError(f"query {name}: header lacks {sorted(missing)}")
    if header["name"] != name:
        raise ValueError(f"query {name}: header names it {header['name']!r}")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    declared = tuple(sorted(set(_PARAMETER.findall(header["parameters"]))))
    used = tuple(sorted(set(_PARAMETER.findall(body))))
    if declared != used:
        raise ValueError(f"query {name}: header declares {list(declared)} but the body uses {list(used)}")
    return Query(name, text, header["description"], declared, header["returns"])


@cache
def _load(root: str, name: str) -> Query:
    path = Path(root) / f"{name}.cypher"
    if not path.is_file():
        raise NotFoundError(f"no query {name!r} in {root}")
    return parse(name, path.read_text(encoding="utf-8"))


def get(name: str) -> Query:
    """The query named ``name`` (e.g. ``investigate/shared_device_rings``)."""
    return _load(str(folder()), name)


def library() -> list[Query]:
    """Every query of the library, by name."""
    root = folder()
    return [get(p.relative_to(root).with_suffix("").as_posix()) for p in sorted(root.rglob("*.cypher"))]
