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
import pandas as pd

from graphsvc import normalise
from graphsvc.contract import Role
from graphsvc.errors import GraphsvcError
from graphsvc.linkage import rarity
from graphsvc.policy import Policy
from graphsvc.scoring import MIN_POINTS, STRENGTH, ReasonCode, combine
from graphsvc.settings import Settings
from graphsvc.store.base import Batch, BatchOrigin, Store
from graphsvc.validate import Context, prepare


class ConflictError(GraphsvcError):
    """An application id already stored with other content."""


class InvalidApplicationError(GraphsvcError):
    """The application or a contact breaks the data contract; ``problems`` says where."""

    def __init__(self, problems: list[dict]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['detail']}" for p in problems))
        self.problems = problems


@dataclass
class Prepared:
    application: pd.DataFrame  # one validated row in the store's batch layout
    contacts: pd.DataFrame

    @property
    def application_id(self) -> str:
        return str(self.application["application_id"].iloc[0])

    @property
    def applicant_id(self) -> str:
        return str(self.application["applicant_id"].iloc[0])

    def own(self) -> list[tuple[str, str]]:
        row = self.application.iloc[0]
        return [(c[3:], row[c]) for c in self.application.columns if c.startswith("id:") and pd.notna(row[c])]

    def listed(self) -> list[str]:
        return sorted(set(self.contacts["contact_phone"].dropna()))


def prepare_application(application: dict, contacts: list[dict], settings: Settings) -> Prepared:
    """Validate and normalise one application and its contacts, as the loader does.

    Raises
    ------
    InvalidApplicationError
        With every problem found (field, reason, detail); nothing is stored.
    """
    ctx = Context(identity_key=settings.identity_key(), region=settings.default_region, timezone=settings.timezone)
    frame = pd.DataFrame([{**application, "row": 1}])
    rows, rejects = prepare("applications", frame, ctx)
    problems = [{"field": r.column, "reason": r.reason, "detail": r.detail} for r in rejects.itertuples()]
    applied = rows["applied_at"].iloc[0] if len(rows) else None  # contacts default to it when valid
    default_at = normalise.format_timestamp(int(applied)) if applied is not None and applied == applied else None
    listed = pd.DataFrame([{**c, "applicant_id": application.get("applicant_id"), "row": i + 1,
                            "recorded_at": c.get("recorded_at") or default_at}
                           for i, c in enumerate(contacts)])
    contact_rows = pd.DataFrame(columns=["row", "applicant_id", "contact_phone"])
    if len(listed):
        contact_rows, contact_rejects = prepare("contacts", listed, ctx)
        problems += [{"field": f"contacts[{int(r.row) - 1}].{r.column}", "reason": r.reason, "detail": r.detail}
                     for r in contact_rejects.itertuples()]
    if problems:
        raise InvalidApplicationError(problems)
    return Prepared(rows, contact_rows)


def store_application(store: Store, prepared: Prepared) -> bool:
    """Write the application and its contacts in one transaction.

    Returns False when the same application is already stored (nothing written).

    Raises
    ------
    ConflictError
        When the application id is stored with other content.
    """
    existing = store.application(prepared.application_id)
    digest = int(prepared.application["digest"].iloc[0])
    if existing is not None:
        if existing["digest"] != digest:
            raise ConflictError(f"application {prepared.application_id!r} is already stored with other content")
        return False
    checksum = f"api:{prepared.application_id}:{digest}"

    def origin(table: str, rows: int) -> BatchOrigin:
        return BatchOrigin(source="api", file="api", checksum=checksum, table=table, start_row=1,
                           end_row=rows, rows_read=rows)

    batches = [Batch(origin("applications", 1), prepared.application)]
    if len(prepared.contacts):
        batches.append(Batch(origin("contacts", len(prepared.contacts)), prepared.contacts))
    store.apply_all(batches)
    return True


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
    stored = store.applicant_links([me])
    own = set(prepared.own()) | {(k, v) for k, v, r in zip(stored["kind"], stored["value"], stored["role"])
                                 if r == str(Role.OWN)}
    listed = set(prepared.listed()) | set(stored.loc[stored["role"] == str(Role.CONTACT), "value"])
    wanted = sorted(own | {("phone", p) for p in listed})
    cap = max([policy.shared_contact.hub, policy.other_kind.hub, *(r.hub for r in policy.kinds.values())])
    degrees = store.identifier_degrees(wanted, cap=cap)
    degree = {(k, v): int(d) for k, v, d in degrees.itertuples(index=False)}
    hubs = [(k, v) for k, v in sorted(own) if degree.get((k, v), 0) > policy.rule(k).hub]
    open_ids = [(k, v) for k, v in wanted
                if degree.get((k, v), 0) <= max(policy.rule(k).hub, policy.shared_contact.hub)]
    links = store.identifier_links(open_ids)
    links = links[links["applicant_id"] != me]

    neighbours: dict[str, Neighbour] = {}
    for (kind, value), part in links.groupby(["kind", "value"], sort=True):
        holders = part.loc[part["role"] == str(Role.OWN), "applicant_id"].unique()
        listers = part.loc[part["role"] == str(Role.CONTACT), "applicant_id"].unique()
        if (kind, value) in own and len(holders) and len(holders) + 1 <= policy.rule(kind).hub:
            w = policy.rule(kind).weight * float(rarity(np.array([len(holders) + 1]), policy.rarity_reference)[0])
            for other in holders:
                n = neighbours.setdefault(other, Neighbour())
                n.weight += w
                n.shared.append({"kind": kind, "value": value})
        if kind == "phone" and value in listed:
            for other in holders:  # I list their own phone
                n = neighbours.setdefault(other, Neighbour())
                n.weight += policy.contact_link
                n.listing = True
            if not len(holders) and len(listers) and len(listers) + 1 <= policy.shared_contact.hub:
                w = policy.shared_contact.weight * float(
                    rarity(np.array([len(listers) + 1]), policy.rarity_reference)[0])
                for other in listers:
                    n = neighbours.setdefault(other, Neighbour())
                    n.weight += w
                    n.contacts.append(value)
        if (kind, value) in own and kind == "phone":
            for other in listers:  # they list my phone
                n = neighbours.setdefault(other, Neighbour())
                n.weight += policy.contact_link
                n.listing = True
    ranked = sorted(neighbours.items(), key=lambda item: (-item[1].weight, item[0]))[:max_neighbours]
    neighbours = dict(ranked)
    ids = sorted(neighbours)
    info = store.applicants(ids + [me]).set_index("applicant_id")
    outcomes = {a: set(o.split(",")) if isinstance(o, str) else set() for a, o in info["outcomes"].items()}
    run_rows = (store.run_table(run_id, "scores", where={"applicant_id": ids + [me]}).set_index("applicant_id")
                if run_id else pd.DataFrame(columns=["score", "band", "ring_id", "reasons"]))
    rings = (store.run_table(run_id, "rings", where={"ring_id": sorted(set(run_rows["ring_id"].dropna()))})
             .set_index("ring_id") if run_id and run_rows["ring_id"].notna().any()
             else pd.DataFrame(columns=["size", "risk"]))

    def stored_reason(applicant: str, code: ReasonCode) -> dict | None:
        if applicant not in run_rows.index or not isinstance(run_rows.at[applicant, "reasons"], str):
            return None
        return next((r for r in json.loads(run_rows.at[applicant, "reasons"]) if r["code"] == code), None)

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
    if me in run_rows.index and isinstance(run_rows.at[me, "ring_id"], str):
        ring = {"ring_id": run_rows.at[me, "ring_id"], "member": True, "via": None}
    else:
        linked = [a for a in ids if neighbours[a].weight >= policy.strong_link and a in run_rows.index
                  and isinstance(run_rows.at[a, "ring_id"], str)]
        if linked:
            via = max(linked, key=lambda a: (neighbours[a].weight, a))
            ring = {"ring_id": run_rows.at[via, "ring_id"], "member": False, "via": via}
    if ring is not None and ring["ring_id"] in rings.index:
        ring.update(risk=float(rings.at[ring["ring_id"], "risk"]), size=int(rings.at[ring["ring_id"], "size"]))
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
        "neighbourhood": {"identifiers": len(wanted), "hubs": len(hubs), "applicants": len(neighbours)},
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

