"""Erasure on Neo4j: one write transaction (:mod:`graphsvc.people.erasure`).

Neo4j marks the records it deletes as free and reuses them; it does not overwrite
them at once, so the bytes may stay in its store files until then (the embedded
store overwrites them). Every query and export stops returning them at commit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from graphsvc.errors import NotFoundError
from graphsvc.store.neo4j.reader import refs_of
from graphsvc.store.neo4j.results import record_access
from graphsvc.store.neo4j.tx import run


def forget_contacts(store, plan, entry: dict) -> dict[str, int]:
    """Apply a contact plan (links past retention) and record ``entry``, in one transaction."""
    def work(tx: Any) -> dict[str, int]:
        refs = refs_of([("phone", p) for _, p in plan.contacts])
        links = run(tx, "store/forget_contacts", rows=[{"applicant_id": a, "ref": ref}
                                                       for (a, _), ref in zip(plan.contacts, refs)])
        return _finish(tx, plan, entry, {"links": _count(links, "links")})

    return store._write(work)


def forget(store, plan, entry: dict) -> dict[str, int]:
    """Apply ``plan`` and record ``entry`` in the audit trail, in one transaction."""
    def work(tx: Any) -> dict[str, int]:
        found = run(tx, "store/forget_applicant", id=plan.applicant_id)
        if not found:
            raise NotFoundError(f"no applicant {plan.applicant_id!r}")
        done = {k: int(v) for k, v in found[0].items()}
        pending = run(tx, "store/forget_pending", id=plan.applicant_id,
                      values=[json.dumps(v, ensure_ascii=False) for _, v in plan.identifiers])
        done["pending"] = _count(pending, "removed")
        done["reviews"] = _count(run(tx, "store/forget_reviews", id=plan.applicant_id), "removed")
        return _finish(tx, plan, entry, done)

    return store._write(work)


def _finish(tx: Any, plan, entry: dict, done: dict[str, int]) -> dict[str, int]:
    """What every erasure ends with: the plan's identifiers removed with their links,
    other applicants' reasons rewritten, the tombstones and the audit row written."""
    gone = run(tx, "store/forget_identifiers", refs=refs_of(plan.identifiers))
    done["identifiers"] = _count(gone, "identifiers")
    done["links"] = done.get("links", 0) + _count(gone, "links")
    rewritten = run(tx, "store/forget_reasons",
                    replacements=[{"old": old, "new": new} for old, new in plan.replacements])
    done["reasons rewritten"] = _count(rewritten, "rewritten")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    run(tx, "store/record_tombstones", rows=[{"digest": d, "what": w, "at": now} for d, w in plan.tombstones])
    record_access(tx, entry)
    return done


def _count(rows: list[dict], column: str) -> int:
    return int(rows[0][column] or 0) if rows else 0
