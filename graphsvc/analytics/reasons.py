"""Reasons read off a projection, the same way in a batch run and on write.

:func:`local` gives the strengths of the reasons whose evidence lies next to an
applicant: its own fraud outcome, the most strongly linked confirmed-fraud
applicant, a hub identifier held, and each velocity family. The batch job
(:mod:`graphsvc.analytics.rescore`) calls it for every applicant of the whole graph;
score-on-write (:mod:`graphsvc.online.scoring`) for the new applicant of its
neighbourhood projection (:mod:`graphsvc.online.neighbourhood`). :func:`evidence`
spells a reported reason out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphsvc.analytics.feature_table import DAY, WINDOWS, Features, Rows
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.scoring import (
    STRENGTH,
    VELOCITY_CODES,
    ReasonCode,
    shared_evidence,
    strongest_neighbour,
    velocity,
    velocity_prefixes,
)
from graphsvc.ingest.contract import RAW_KINDS, TOKENISED

LOCAL = (ReasonCode.CONFIRMED_FRAUD, ReasonCode.SHARES_WITH_FRAUD, ReasonCode.HUB_IDENTIFIER,
         ReasonCode.SHARED_INVALID_VALUE, *VELOCITY_CODES.values())


@dataclass
class Local:
    """Local reason strengths of some applicants (``positions``) and what gave them."""

    positions: np.ndarray
    strength: dict[ReasonCode, np.ndarray]  # per code, per position
    best: np.ndarray  # strongest confirmed-fraud neighbour of each position (-1: none)
    hub_of: dict[int, int]  # position -> a risky hub identifier it holds
    junk_of: dict[int, int]  # position -> an invalid value it typed that others typed too (not a hub)
    velocity_prefix: dict[ReasonCode, np.ndarray]  # family prefix index that gave each velocity strength


def local(projection: Projection, linked, policy: Policy, positions: np.ndarray, table: Features) -> Local:
    """Strengths of the local reasons for ``positions`` (``table``: their features, in that order)."""
    positions = np.asarray(positions, dtype=np.int64)
    fraud = projection.fraud
    best, best_weight = strongest_neighbour(linked.graph, fraud)
    best, best_weight = best[positions], best_weight[positions]
    best[fraud[positions]] = -1
    kinds = projection.arrays.kinds
    risky_kind = np.array([policy.rule(k).hub_is_risk for k in kinds] or [False])
    hub_ids = linked.own_hubs
    risky_hubs = hub_ids[risky_kind[projection.arrays.identifier_kind[hub_ids]]] if len(hub_ids) else hub_ids
    hub_of: dict[int, int] = {}
    if len(risky_hubs):
        rows = projection.own[positions][:, risky_hubs].tocoo()
        hub_of = dict(zip(rows.row.tolist(), risky_hubs[rows.col].tolist()))
    holds_hub = np.zeros(len(positions), dtype=bool)
    holds_hub[list(hub_of)] = True
    junk_of = _shared_junk(projection, linked, positions)
    holds_junk = np.zeros(len(positions), dtype=bool)
    holds_junk[list(junk_of)] = True
    strength = {
        ReasonCode.CONFIRMED_FRAUD: np.where(fraud[positions], STRENGTH[ReasonCode.CONFIRMED_FRAUD], 0.0),
        ReasonCode.SHARES_WITH_FRAUD: np.where(best >= 0, STRENGTH[ReasonCode.SHARES_WITH_FRAUD]
                                               * np.minimum(best_weight, 1.0), 0.0),
        ReasonCode.HUB_IDENTIFIER: np.where(holds_hub, STRENGTH[ReasonCode.HUB_IDENTIFIER], 0.0),
        ReasonCode.SHARED_INVALID_VALUE: np.where(holds_junk, STRENGTH[ReasonCode.SHARED_INVALID_VALUE], 0.0),
    }
    prefix = {}
    for code, (p, which) in velocity(table, policy, kinds).items():
        strength[code], prefix[code] = p, which
    return Local(positions, strength, best, hub_of, junk_of, prefix)


def _shared_junk(projection: Projection, linked, positions: np.ndarray) -> dict[int, int]:
    """Per position (index into ``positions``), an invalid value kept as a raw kind that
    other applicants hold too, below its kind's hub cap (the lowest such identifier)."""
    kinds = projection.arrays.kinds
    raw = np.array([k in RAW_KINDS.values() for k in kinds] or [False])
    shared = raw[projection.arrays.identifier_kind] & (projection.holders() >= 2)
    shared[linked.own_hubs] = False
    junk = np.flatnonzero(shared)
    if not len(junk):
        return {}
    rows = projection.own[positions][:, junk].tocoo()
    out: dict[int, int] = {}
    for row, col in sorted(zip(rows.row.tolist(), rows.col.tolist())):
        out.setdefault(row, int(junk[col]))
    return out


def evidence(found: Local, index: int, code: ReasonCode, projection: Projection, linked, policy: Policy,
             rows: Rows | None, row: int, names: dict[int, tuple[str, str]]) -> dict:
    """The evidence of one local reason of ``found.positions[index]``.

    ``rows`` are the feature rows of the applicant (``row``: its row in them);
    ``names`` gives (kind, value) of the identifiers involved (:func:`involved`).
    """
    i = int(found.positions[index])
    if code is ReasonCode.CONFIRMED_FRAUD:
        return {"outcome": "fraud"}
    if code is ReasonCode.SHARES_WITH_FRAUD:
        other = int(found.best[index])
        identifiers, contacts, listed = shared_evidence(projection, linked, [(i, other)])[i]
        return {"applicant_id": projection.applicants[other],
                "shared": [{"kind": names[j][0], "value": _shown(*names[j])} for j in identifiers],
                "shared_contacts": [names[j][1] for j in contacts], "contact_listing": listed}
    if code in (ReasonCode.HUB_IDENTIFIER, ReasonCode.SHARED_INVALID_VALUE):
        j = (found.hub_of if code is ReasonCode.HUB_IDENTIFIER else found.junk_of)[index]
        return {"kind": names[j][0], "value": _shown(*names[j]), "holders": int(projection.holders()[j])}
    family = next(f for f, c in VELOCITY_CODES.items() if c is code)
    prefix = velocity_prefixes(policy, projection.arrays.kinds)[family][found.velocity_prefix[code][index]]
    if prefix == "linked":
        return _linked_evidence(projection, linked, policy, i, rows.at[row])
    j, role, others, recent = _velocity_row(rows, row, prefix, projection)
    return {"kind": names[j][0], "value": _shown(*names[j]), "role": role, "others": others,
            **{f"recent_{w}d": recent[w] for w in WINDOWS}}


def _shown(kind: str, value: str) -> str | None:
    """An identifier value as evidence carries it: identity tokens never (the evidence is
    stored with the run and exported with scores), every other value as stored."""
    return None if kind in TOKENISED else value


def involved(found: Local, indices: list[int], codes: dict[int, list[ReasonCode]], projection: Projection,
             linked, policy: Policy, rows: Rows | None, row_of: dict[int, int]) -> np.ndarray:
    """Identifier positions the evidence of the given reasons names (to fetch their values once)."""
    out: set[int] = set()
    for index in indices:
        i = int(found.positions[index])
        for code in codes[index]:
            if code is ReasonCode.SHARES_WITH_FRAUD:
                identifiers, contacts, _ = shared_evidence(projection, linked, [(i, int(found.best[index]))])[i]
                out.update(identifiers)
                out.update(contacts)
            elif code is ReasonCode.HUB_IDENTIFIER:
                out.add(found.hub_of[index])
            elif code is ReasonCode.SHARED_INVALID_VALUE:
                out.add(found.junk_of[index])
            elif code in VELOCITY_CODES.values():
                family = next(f for f, c in VELOCITY_CODES.items() if c is code)
                prefix = velocity_prefixes(policy, projection.arrays.kinds)[family][found.velocity_prefix[code][index]]
                if prefix != "linked":
                    out.add(_velocity_row(rows, row_of[index], prefix, projection)[0])
    return np.array(sorted(out), dtype=np.int64)


def scorecard(model, table: Features) -> tuple[np.ndarray, dict[ReasonCode, np.ndarray]]:
    """A fitted model's fraud probability for every row of a feature table, and the
    points each feature family adds to it (``1000 (p - p without the family)``)."""
    families = model.family_contributions(table)
    logit = model.base_logit() + sum(families.values())
    p = 1 / (1 + np.exp(-logit))
    points = {ReasonCode(f"SCORECARD_{family}"):
              np.rint(1000 * (p - 1 / (1 + np.exp(-(logit - part))))).astype(np.int64)
              for family, part in sorted(families.items())}
    return p, points


def scorecard_evidence(model, table: Features, rows) -> list[dict[ReasonCode, dict]]:
    """Per family of each of the rows: the features behind its points (value and log-odds)."""
    return [{ReasonCode(f"SCORECARD_{item['family']}"): {"features": item["features"]} for item in items}
            for items in model.explain(table, np.asarray(rows, dtype=np.int64))]


def _linked_evidence(projection: Projection, linked, policy: Policy, i: int, at: float) -> dict:
    """The strongly linked applicants who first applied in the 7 days before ``at``."""
    row = linked.strong(policy.strong_link).getrow(i).tocoo()
    age = at - projection.first_applied[row.col]
    recent = row.col[(age >= 0) & (age < 7 * DAY)]
    order = np.argsort(projection.first_applied[recent], kind="stable")
    return {"applicants": projection.applicants[recent[order]].tolist()[:20],
            "recent_1d": int(((age >= 0) & (age < DAY)).sum()), "recent_7d": int(len(recent))}


def _velocity_row(rows: Rows, row: int, prefix: str, projection: Projection) -> tuple[int, str, int, dict]:
    """The link behind a velocity feature: identifier, role, others and their recent counts."""
    span = rows.span(row)
    kind = projection.arrays.identifier_kind[rows.identifier[span]]
    contact, holders = rows.contact[span], rows.holders[span]
    if prefix == "contact":
        pick, recent, others, role = contact & (holders == 0), rows.lister_recent, rows.listers, "contact"
    elif prefix == "listing":
        pick, recent, others, role = contact & (holders > 0), rows.holder_recent, rows.holders, "listed_owner"
    elif prefix == "listed_by":
        code = projection.arrays.kinds.index("phone")
        pick, recent, others, role = ~contact & (kind == code), rows.lister_recent, rows.listers, "listed"
    else:
        code = projection.arrays.kinds.index(prefix)
        pick, recent, others, role = ~contact & (kind == code), rows.holder_recent, rows.holders, "own"
    candidates = span[pick & ~rows.hub[span]]
    score = recent[7][candidates] + recent[1][candidates]
    k = candidates[np.lexsort((rows.identifier[candidates], -score))[0]]
    return int(rows.identifier[k]), role, int(others[k]), {w: int(recent[w][k]) for w in WINDOWS}
