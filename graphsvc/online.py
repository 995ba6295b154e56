"""Score-on-write: store one application with its contacts and score it at once.

The score comes from the application's bounded neighbourhood (its identifiers,
the applicants sharing them up to each kind's hub cap, the phones it lists and
who lists its phone) plus the latest re-score run (rings, neighbours' scores and
their evidence paths). Nothing global is rebuilt. Reason codes, strengths and
bands are those of the batch job (:mod:`graphsvc.scoring`), under the policy of
the run the answer builds on:

* ``SHARES_WITH_FRAUD`` from a directly linked confirmed-fraud applicant;
* ``RING_MEMBER`` from the applicant's own ring in the run, or from a ring whose
  member it is strongly linked to (it would join that ring);
* ``FRAUD_PROXIMITY`` and ``DEFAULT_PROXIMITY`` from neighbours' proximity in
  the run (or their own outcome), damped by the link weight and one restart;
* ``HUB_IDENTIFIER`` for a held identifier above its kind's hub cap;
* ``CONFIRMED_FRAUD`` when the applicant already has a fraud outcome.

Writes are idempotent on ``application_id``: the same content again is not
written twice, other content under a known id raises :class:`ConflictError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from graphsvc import keys, normalise
from graphsvc.contract import APPLICATION_IDENTIFIER_COLUMNS, Reason, Role
from graphsvc.errors import GraphsvcError
from graphsvc.linkage import rarity
from graphsvc.policy import Policy
from graphsvc.scoring import MIN_POINTS, STRENGTH, ReasonCode, combine
from graphsvc.settings import Settings
from graphsvc.store.base import Store
from graphsvc.validate import TIMESTAMP_DETAIL, Context, identifier_rule


class ConflictError(GraphsvcError):
    """An application id already stored with other content."""


class InvalidApplicationError(GraphsvcError):
    """The application or a contact breaks the data contract; ``problems`` says where."""

    def __init__(self, problems: list[dict]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['detail']}" for p in problems))
        self.problems = problems


@dataclass
class Prepared:
    """One validated application (``id:<kind>`` values canonical, times in epoch
    seconds, ``digest`` of its content) and its validated contacts."""

    application: dict
    contacts: list[dict]

    @property
    def application_id(self) -> str:
        return self.application["application_id"]

    @property
    def applicant_id(self) -> str:
        return self.application["applicant_id"]

    def own(self) -> list[tuple[str, str]]:
        return [(c[3:], v) for c, v in sorted(self.application.items()) if c.startswith("id:") and v is not None]

    def listed(self) -> list[str]:
        return sorted({c["contact_phone"] for c in self.contacts})


def _text(value) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def prepare_application(application: dict, contacts: list[dict], settings: Settings) -> Prepared:
    """Validate and normalise one application and its contacts, value by value,
    with the loader's normalisers, reasons and content digest.

    Raises
    ------
    InvalidApplicationError
        With every problem found (field, reason, detail); nothing is stored.
    """
    region, zone = settings.default_region, settings.timezone
    problems: list[dict] = []

    def problem(field_: str, reason: Reason, detail: str) -> None:
        problems.append({"field": field_, "reason": str(reason), "detail": detail})

    row: dict = {}
    for column in ("application_id", "applicant_id", "applied_at"):
        row[column] = _text(application.get(column))
        if row[column] is None:
            problem(column, Reason.MISSING_VALUE, f"{column} is required")
    if row["applied_at"] is not None:
        row["applied_at"] = normalise.timestamp_one(row["applied_at"], zone)
        if row["applied_at"] is None:
            problem("applied_at", Reason.INVALID_TIMESTAMP, TIMESTAMP_DETAIL)
    ctx = Context(identity_key=b"", region=region, timezone=zone)
    for column, kind in APPLICATION_IDENTIFIER_COLUMNS.items():
        raw = _text(application.get(column))
        value = None if raw is None else normalise.identifier_one(str(kind), raw, region=region,
                                                                  identity_key=settings.identity_key)
        if raw is not None and value is None:
            _, reason, detail = identifier_rule(str(kind), ctx)
            problem(column, reason, detail)
        row[f"id:{kind}"] = value
    listed = []
    for i, contact in enumerate(contacts):
        raw = _text(contact.get("contact_phone"))
        phone = None if raw is None else normalise.phone_one(raw, region)
        if raw is None:
            problem(f"contacts[{i}].contact_phone", Reason.MISSING_VALUE, "contact_phone is required")
        elif phone is None:
            _, reason, detail = identifier_rule("phone", ctx)
            problem(f"contacts[{i}].contact_phone", reason, detail)
        recorded = _text(contact.get("recorded_at"))
        at = row["applied_at"] if recorded is None else normalise.timestamp_one(recorded, zone)
        if recorded is not None and at is None:
            problem(f"contacts[{i}].recorded_at", Reason.INVALID_TIMESTAMP, TIMESTAMP_DETAIL)
        listed.append({"contact_phone": phone, "relation": contact.get("relation") or "other",
                       "source": contact.get("source"), "contact_name": _text(contact.get("contact_name")),
                       "recorded_at": at})
    if problems:
        raise InvalidApplicationError(problems)
    content = [row["applicant_id"], row["applied_at"]] + [row[c] for c in sorted(row) if c.startswith("id:")]
    row["digest"] = int(keys.row_ids("application-content", [np.array([v], dtype=object) for v in content])[0])
    return Prepared(row, listed)


def store_application(store: Store, prepared: Prepared) -> bool:
    """Write the application and its contacts in one transaction.

    Returns False when the same application is already stored (nothing written).

    Raises
    ------
    ConflictError
        When the application id is stored with other content.
    """
    checksum = f"api:{prepared.application_id}:{prepared.application['digest']}"
    outcome = store.write_application(prepared.application, prepared.contacts, checksum)
    if outcome == "conflict":
        raise ConflictError(f"application {prepared.application_id!r} is already stored with other content")
    return outcome == "stored"


@dataclass
class Neighbour:
    weight: float = 0.0
    shared: list[dict] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    listing: bool = False


_POLICIES: dict[str, Policy] = {}  # policy_version -> Policy: parsed once per process


def _latest_run(store: Store) -> tuple[str | None, Policy]:
    run = store.latest_run()
    if run is None:
        return None, Policy()
    version = run["params"]["policy_version"]
    if version not in _POLICIES:
        _POLICIES[version] = Policy.model_validate(run["params"]["policy"])
    return str(run["run_id"]), _POLICIES[version]


def score_neighbourhood(store: Store, prepared: Prepared, *, max_neighbours: int = 500) -> dict:
    """Score an application from its bounded neighbourhood and the latest run."""
    run_id, policy = _latest_run(store)
    me = prepared.applicant_id
    cap = max([policy.shared_contact.hub, policy.other_kind.hub, *(r.hub for r in policy.kinds.values())])
    listed_now = prepared.listed()
    rows = store.neighbourhood(me, prepared.own() + [("phone", p) for p in listed_now], cap)
    own, listed = set(prepared.own()), set(listed_now)
    degree: dict[tuple[str, str], int] = {}
    holders: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for kind, value, count, holder, role, _relation, _seen in rows:
        degree[(kind, value)] = count
        if holder == me:
            (own.add((kind, value)) if role == str(Role.OWN) else listed.add(value))
        elif holder is not None:
            holders.setdefault((kind, value), []).append((holder, role))
    hubs = [(k, v) for k, v in sorted(own) if degree.get((k, v), 0) > policy.rule(k).hub]

    neighbours: dict[str, Neighbour] = {}
    for (kind, value), linked in sorted(holders.items()):
        holding = sorted({a for a, r in linked if r == str(Role.OWN)})
        listing = sorted({a for a, r in linked if r == str(Role.CONTACT)})
        if (kind, value) in own and holding and len(holding) + 1 <= policy.rule(kind).hub:
            w = policy.rule(kind).weight * float(rarity(np.array([len(holding) + 1]), policy.rarity_reference)[0])
            for other in holding:
                n = neighbours.setdefault(other, Neighbour())
                n.weight += w
                n.shared.append({"kind": kind, "value": value})
        if kind == "phone" and value in listed:
            for other in holding:  # I list their own phone
                n = neighbours.setdefault(other, Neighbour())
                n.weight += policy.contact_link
                n.listing = True
            if not holding and listing and len(listing) + 1 <= policy.shared_contact.hub:
                w = policy.shared_contact.weight * float(
                    rarity(np.array([len(listing) + 1]), policy.rarity_reference)[0])
                for other in listing:
                    n = neighbours.setdefault(other, Neighbour())
                    n.weight += w
                    n.contacts.append(value)
        if (kind, value) in own and kind == "phone":
            for other in listing:  # they list my phone
                n = neighbours.setdefault(other, Neighbour())
                n.weight += policy.contact_link
                n.listing = True
    ranked = sorted(neighbours.items(), key=lambda item: (-item[1].weight, item[0]))[:max_neighbours]
    neighbours = dict(ranked)
    ids = sorted(neighbours)
    outcomes = store.outcomes_of(ids + [me])
    run_rows = store.latest_scores(run_id, ids + [me]) if run_id else {}

    def stored_reason(applicant: str, code: ReasonCode) -> dict | None:
        row = run_rows.get(applicant)
        if row is None or not isinstance(row[3], str) or str(code) not in row[3]:
            return None
        return next((r for r in json.loads(row[3]) if r["code"] == code), None)

    strength: dict[ReasonCode, float] = {}
    evidence: dict[ReasonCode, dict] = {}
    if "fraud" in outcomes.get(me, set()):
        strength[ReasonCode.CONFIRMED_FRAUD] = STRENGTH[ReasonCode.CONFIRMED_FRAUD]
        evidence[ReasonCode.CONFIRMED_FRAUD] = {"outcome": "fraud"}
    fraudsters = [a for a in ids if "fraud" in outcomes.get(a, set())]
    if fraudsters:
        best = max(fraudsters, key=lambda a: (neighbours[a].weight, a))
        n = neighbours[best]
        strength[ReasonCode.SHARES_WITH_FRAUD] = STRENGTH[ReasonCode.SHARES_WITH_FRAUD] * min(n.weight, 1.0)
        evidence[ReasonCode.SHARES_WITH_FRAUD] = {"applicant_id": best, "shared": n.shared,
                                                  "shared_contacts": n.contacts, "contact_listing": n.listing}
    ring = None
    if me in run_rows and run_rows[me][2] is not None:
        ring = {"ring_id": run_rows[me][2], "member": True, "via": None, "risk": run_rows[me][4],
                "size": run_rows[me][5]}
    else:
        linked = [a for a in ids if neighbours[a].weight >= policy.strong_link and a in run_rows
                  and run_rows[a][2] is not None]
        if linked:
            via = max(linked, key=lambda a: (neighbours[a].weight, a))
            ring = {"ring_id": run_rows[via][2], "member": False, "via": via, "risk": run_rows[via][4],
                    "size": run_rows[via][5]}
    if ring is not None and ring["risk"] is not None:
        strength[ReasonCode.RING_MEMBER] = STRENGTH[ReasonCode.RING_MEMBER] * ring["risk"]
        evidence[ReasonCode.RING_MEMBER] = {"ring_id": ring["ring_id"], "ring_risk": ring["risk"],
                                            **({"via": ring["via"]} if ring["via"] else {})}
    for code, outcome in ((ReasonCode.FRAUD_PROXIMITY, "fraud"), (ReasonCode.DEFAULT_PROXIMITY, "default")):
        best_p, best_path = 0.0, None
        for a in ids:
            damp = (1 - policy.restart) * min(neighbours[a].weight, 1.0)
            if outcome in outcomes.get(a, set()):
                p, path = STRENGTH[code] * damp, [me, a]
            elif (stored := stored_reason(a, code)) is not None:
                p, path = stored["points"] / 1000 * damp, [me, *stored["evidence"]["path"]]
            else:
                continue
            if p > best_p:
                best_p, best_path = p, path
        if best_path and outcome not in outcomes.get(me, set()):
            strength[code], evidence[code] = best_p, {"path": best_path}
    if hubs and any(policy.rule(k).hub_is_risk for k, _ in hubs):
        kind, value = next((k, v) for k, v in hubs if policy.rule(k).hub_is_risk)
        strength[ReasonCode.HUB_IDENTIFIER] = STRENGTH[ReasonCode.HUB_IDENTIFIER]
        # degrees are counted only up to the cap: the batch run reports the exact number
        evidence[ReasonCode.HUB_IDENTIFIER] = {"kind": kind, "value": value,
                                               "holders_over": policy.rule(kind).hub}

    score = int(np.atleast_1d(combine({c: np.array([p]) for c, p in strength.items()}))[0])
    reasons = sorted(({"code": str(c), "points": round(1000 * p), "evidence": evidence[c]}
                      for c, p in strength.items() if round(1000 * p) >= MIN_POINTS),
                     key=lambda r: (-r["points"], r["code"]))
    return {
        "applicant_id": me, "score": score, "band": policy.bands.of(score), "reasons": reasons, "ring": ring,
        "versions": {"run_id": run_id, "policy_version": policy.version},
        "neighbourhood": {"identifiers": len(degree), "hubs": len(hubs), "applicants": len(neighbours)},
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

