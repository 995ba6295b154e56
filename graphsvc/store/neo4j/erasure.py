"""Erasure on Neo4j: one write transaction (:mod:`graphsvc.erasure`).

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
        rows = [{"applicant_id": a, "ref": ref} for (a, _), ref in zip(plan.contacts,
                                                                      refs_of([("phone", p) for _, p in plan.contacts]))]
        links = run(tx, "store/forget_contacts", rows=rows)
        gone = run(tx, "store/forget_identifiers", refs=refs_of(plan.identifiers))
        rewritten = run(tx, "store/forget_reasons",
                        replacements=[{"old": old, "new": new} for old, new in plan.replacements])
        _tombstones(tx, plan, entry)
        return {"links": int(links[0]["links"]) if links else 0,
                "identifiers": int(gone[0]["identifiers"]) if gone else 0,
                "reasons rewritten": int(rewritten[0]["rewritten"]) if rewritten else 0}

    return store._write(work)


def _tombstones(tx: Any, plan, entry: dict) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    run(tx, "store/record_tombstones", rows=[{"digest": d, "what": w, "at": now} for d, w in plan.tombstones])
    record_access(tx, entry)


def forget(store, plan, entry: dict) -> dict[str, int]:
    """Apply ``plan`` and record ``entry`` in the audit trail, in one transaction."""
    def work(tx: Any) -> dict[str, int]:
        done: dict[str, int] = {}
        rewritten = run(tx, "store/forget_reasons",
                        replacements=[{"old": old, "new": new} for old, new in plan.replacements])
        found = run(tx, "store/forget_applicant", id=plan.applicant_id)
        if not found:
            raise NotFoundError(f"no applicant {plan.applicant_id!r}")
        done.update({k: int(v) for k, v in found[0].items()})
        gone = run(tx, "store/forget_identifiers", refs=refs_of(plan.identifiers))
        done["identifiers"] = int(gone[0]["identifiers"]) if gone else 0
        done["links"] += int(gone[0]["links"] or 0) if gone else 0
        pending = run(tx, "store/forget_pending", id=plan.applicant_id,
                      values=[json.dumps(v, ensure_ascii=False) for _, v in plan.identifiers])
        done["pending"] = int(pending[0]["removed"]) if pending else 0
        reviews = run(tx, "store/forget_reviews", id=plan.applicant_id)
        done["reviews"] = int(reviews[0]["removed"]) if reviews else 0
        done["reasons rewritten"] = int(rewritten[0]["rewritten"]) if rewritten else 0
        _tombstones(tx, plan, entry)
        return done

    return store._write(work)
