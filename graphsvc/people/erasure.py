"""Erasure that sticks: forget one person, and keep them forgotten.

:func:`plan` decides from the store what forgetting an applicant removes:

- the applicant, its applications, outcomes and relations (both directions), its
  links (own identifiers and the contacts it declared), its facts still pending;
- its own identifiers (phones, devices, IPs, identity tokens, raw values ...) that
  no other applicant holds as its own, with every link to them (so the name another
  applicant listed the person's phone under goes too), and the contact numbers only
  it listed; an identifier another applicant holds as its own stays theirs;
- in every run's results: its scores and ring memberships, hubs on removed
  identifiers, and in other applicants' reasons its id (replaced by a label that
  names no one) and the removed values (replaced by ``forgotten``).

Tombstones keep the person forgotten: keyed HMAC digests (the identity key, so
they cannot be reversed or matched without it) of the applicant id and of each
removed own identifier. :func:`screen` checks every loaded row against them (the
loader and score-on-write call it): a row of a forgotten applicant, a contact
listing a forgotten number or a sighting of a forgotten identifier is rejected
with reason ``forgotten``; a forgotten value in an optional field (another
applicant's application, an outcome's phone) is left out the same way.

The store applies a plan in one transaction, audited (``Store.forget``); the
embedded store overwrites what it deletes and empties its write-ahead log after.
The audit trail keeps its rows (the record of who accessed what is kept by law),
and one-way fact hashes of rows already loaded stay (they contain no value).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphsvc.ingest.contract import APPLICATION_IDENTIFIER_COLUMNS, DERIVED_KINDS, RAW_KINDS, LinkRole, RejectReason
from graphsvc.store.base import QUARANTINED, REJECT_COLUMNS, Store, require_applicant

#: what replaces a removed value inside other applicants' reasons
FORGOTTEN = "forgotten"
DETAIL = "the person was erased (graphsvc subject forget); the row is skipped"
FIELD_DETAIL = "a value of an erased person (graphsvc subject forget)"
EXPIRED_DETAIL = "this applicant's listing of this number was purged past its retention (graphsvc retention apply)"


def digest(what: str, value: str, key: bytes) -> str:
    """The tombstone of a value: HMAC-SHA256 of ``what`` (``applicant`` or an
    identifier kind) and the value, keyed by the identity key; 32 hex digits."""
    return hmac.new(key, f"{what}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Plan:
    """What forgetting one applicant removes (module docstring)."""

    applicant_id: str
    reason: str
    identifiers: list[tuple[str, str]]  # removed with every link to them
    tombstones: list[tuple[str, str]]  # (digest, what): the applicant and its removed own identifiers
    label: str  # what stands for the applicant in other applicants' reasons
    replacements: list[tuple[str, str]] = field(default_factory=list)  # JSON text in reasons -> what replaces it

    def summary(self) -> dict:
        kinds = pd.Series([k for k, _ in self.identifiers], dtype=object).value_counts().to_dict()
        return {"applicant_id": self.applicant_id, "label": self.label, "reason": self.reason,
                "identifiers_removed": {str(k): int(v) for k, v in sorted(kinds.items())},
                "tombstones": len(self.tombstones)}


def plan(store: Store, applicant_id: str, reason: str, key: bytes) -> Plan:
    """What :meth:`Store.forget` removes for ``applicant_id``.

    Raises
    ------
    NotFoundError
        When the store holds no such applicant.
    """
    require_applicant(store, applicant_id)
    links = store.applicant_links([applicant_id])
    own = sorted(set(zip(*[links.loc[links["role"] == str(LinkRole.OWN), c] for c in ("kind", "value")])))
    listed = sorted(set(zip(*[links.loc[links["role"] == str(LinkRole.CONTACT), c] for c in ("kind", "value")])))
    around = store.identifier_links(sorted(set(own) | set(listed)))
    others = around[around["applicant_id"] != applicant_id]
    kept_own = set(zip(*[others.loc[others["role"] == str(LinkRole.OWN), c] for c in ("kind", "value")]))
    linked = set(zip(others["kind"], others["value"]))
    removed_own = [i for i in own if i not in kept_own]
    removed = sorted(set(removed_own) | {i for i in listed if i not in linked and i not in kept_own})
    label = f"{FORGOTTEN}-{digest('applicant', applicant_id, key)[:10]}"
    tombstones = [(digest("applicant", applicant_id, key), "applicant")]
    tombstones += [(digest(kind, value, key), kind) for kind, value in removed_own]
    replacements = [(json.dumps(applicant_id, ensure_ascii=False), json.dumps(label))]
    replacements += [(json.dumps(value, ensure_ascii=False), json.dumps(FORGOTTEN))
                     for _, value in removed_own if value not in (applicant_id, label)]
    return Plan(applicant_id, reason, removed, tombstones, label, replacements)


@dataclass(frozen=True)
class ContactPlan:
    """Contact links past their retention (:mod:`graphsvc.people.retention`): the links, the
    numbers nobody else links any more, and tombstones of each (applicant, number)."""

    contacts: list[tuple[str, str]]  # (applicant id, phone) of the contact links removed
    identifiers: list[tuple[str, str]]  # numbers left without any link: removed
    tombstones: list[tuple[str, str]]
    replacements: list[tuple[str, str]] = field(default_factory=list)


def contact_digest(applicant_id: str, phone: str, key: bytes) -> str:
    """The tombstone of one applicant's listing of one number."""
    return digest("contact", f"{applicant_id}\x1f{phone}", key)


def plan_contacts(store: Store, contacts: list[tuple[str, str]], key: bytes) -> ContactPlan:
    """What removing these contact links removes (numbers nobody else links go too)."""
    pairs = sorted(set(contacts))
    phones = sorted({p for _, p in pairs})
    around = store.identifier_links([("phone", p) for p in phones]) if phones else None
    gone = set(pairs)
    kept = set() if around is None else {v for a, v, r in zip(around["applicant_id"], around["value"], around["role"])
                                         if (a, v) not in gone or r != str(LinkRole.CONTACT)}
    orphans = [("phone", p) for p in phones if p not in kept]
    return ContactPlan(pairs, orphans, [(contact_digest(a, p, key), "contact") for a, p in pairs],
                       [(json.dumps(p, ensure_ascii=False), json.dumps(FORGOTTEN)) for _, p in orphans])


#: per table: the columns naming applicants
_APPLICANTS = {"applicants": ("applicant_id",), "applications": ("applicant_id",), "identifiers": ("applicant_id",),
               "contacts": ("applicant_id",), "outcomes": ("applicant_id",),
               "relations": ("src_applicant_id", "dst_applicant_id")}


#: the application column an identifier kind (or its raw kind) is read from
COLUMN_OF = {**{str(k): c for c, k in APPLICATION_IDENTIFIER_COLUMNS.items()},
             **{RAW_KINDS[k]: c for c, k in APPLICATION_IDENTIFIER_COLUMNS.items() if k in RAW_KINDS}}


def screen(table: str, rows: pd.DataFrame, tombstones: frozenset[str], key: bytes,
           extras: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated rows of ``table`` without what erased people left: rows naming a
    forgotten applicant or keyed by a forgotten identifier are rejected, forgotten
    values in optional fields left out. Staged rows (:meth:`Store.stage`, whose
    ``extras`` it reads) keep their fact hashes, so a row stored before the erasure
    stays a duplicate.
    Returns the rows and the rejects it adds."""
    if not tombstones or not len(rows):
        return rows, pd.DataFrame(columns=REJECT_COLUMNS)
    out = rows.copy()
    bad = np.zeros(len(out), dtype=bool)
    problems = []

    def hit(what: str, values: pd.Series) -> np.ndarray:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        gone = np.array([digest(what, str(v), key) in tombstones for v in uniques], dtype=bool)
        return (codes >= 0) & gone[np.maximum(codes, 0)] if len(uniques) else np.zeros(len(values), dtype=bool)

    def report(mask: np.ndarray, column: str, detail: str) -> None:
        if mask.any():
            problems.append(pd.DataFrame({"row": out["row"].to_numpy()[mask], "column": column,
                                          "reason": str(RejectReason.FORGOTTEN), "detail": detail}))

    def applicants(column: str) -> pd.Series:
        if column in out:
            return out[column]
        # a writer that reads applicants by the batch's codes dropped the keys
        return pd.Series(np.asarray(extras["applicant_keys"], dtype=object)[out["_a"].to_numpy()])

    for column in _APPLICANTS.get(table, ()):
        mask = hit("applicant", applicants(column)) & ~bad
        report(mask, column, DETAIL)
        bad |= mask
    if table == "contacts":
        mask = hit("phone", out["contact_phone"]) & ~bad
        report(mask, "contact_phone", DETAIL)
        bad |= mask
        listing = pd.Series(applicants("applicant_id").to_numpy(object) + "\x1f"
                            + out["contact_phone"].fillna("").to_numpy(object))
        mask = hit("contact", listing) & ~bad
        report(mask, "contact_phone", EXPIRED_DETAIL)
        bad |= mask
    elif table == "identifiers":
        mask = np.zeros(len(out), dtype=bool)
        for kind in out["kind"].dropna().unique():
            part = (out["kind"] == kind).to_numpy()
            mask[part] = hit(str(kind), out.loc[part, "value"])
        mask &= ~bad
        report(mask, "value", DETAIL)
        bad |= mask
    elif table == "applications":
        for column in [c for c in out.columns if c.startswith("id:")]:
            mask = hit(column[3:], out[column]) & ~bad
            if mask.any():
                kind = column[3:]
                if kind not in DERIVED_KINDS:  # a derived value goes with its origin, unreported
                    report(mask, COLUMN_OF.get(kind, kind), QUARANTINED + FIELD_DETAIL)
                out.loc[mask, column] = None
                if f"_h:{kind}" in out:
                    out.loc[mask, f"_h:{kind}"] = -1
    elif table == "outcomes" and "phone" in out:
        mask = hit("phone", out["phone"]) & ~bad
        report(mask, "phone", QUARANTINED + FIELD_DETAIL)
        out.loc[mask, "phone"] = None
        if "_h" in out:
            out.loc[mask, "_h"] = -1
    rejects = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=REJECT_COLUMNS)
    return out.loc[~bad].reset_index(drop=True), rejects
