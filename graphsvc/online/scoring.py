"""Score-on-write: store one application with its contacts and score it at once.

The score comes from the application's bounded neighbourhood
(:mod:`graphsvc.online.neighbourhood`: its identifiers, everyone linked to them up to
``policy.feature_cap``, their outcomes) as of the application's time, plus the
latest re-score run. Nothing global is rebuilt: the batch job's own code runs
on the neighbourhood, under the policy of the run the answer builds on, so
reason codes, strengths and bands mean what they mean in the batch:

* ``CONFIRMED_FRAUD``, ``SHARES_WITH_FRAUD``, ``HUB_IDENTIFIER``,
  ``SHARED_INVALID_VALUE`` and the velocity reasons from :func:`graphsvc.analytics.reasons.local`, exactly as the batch;
* ``EMERGING_RING`` when the applicant closes or joins a group the batch would
  call a ring: its strong-link component, grown from the application a round
  at a time (at most ``policy.online_group_cap`` applicants), with the batch's
  ring features and risk;
* ``RING_MEMBER`` from the applicant's own ring in the run, or from a ring whose
  member it is strongly linked to (it would join that ring);
* ``FRAUD_PROXIMITY`` and ``DEFAULT_PROXIMITY`` from neighbours' proximity in
  the run (or their own outcome), damped by the link weight and one restart.

The application itself is validated and written by :mod:`graphsvc.online.intake`;
:func:`score_on_write` runs the whole path (intake, then the score).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy.sparse import csgraph

from graphsvc.analytics import features, linkage, reasons, rings
from graphsvc.analytics.feature_table import DAY
from graphsvc.analytics.model import Model
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.scoring import MIN_POINTS, STRENGTH, STRUCTURAL, ReasonCode, combine
from graphsvc.online import neighbourhood
from graphsvc.online.intake import Prepared, check_application, prepare_application, screen_forgotten, store_application
from graphsvc.people import decision
from graphsvc.settings import Settings
from graphsvc.store.base import Store
from graphsvc.store.rows import RunScore

_BASES: dict[str, Basis] = {}  # run_id -> what it gives an answer: parsed once per process


@dataclass(frozen=True)
class Basis:
    """What an answer builds on: the served run (if any), its policy, seed, base
    rates and fitted model."""

    run_id: str | None
    policy: Policy
    seed: int = 7
    prior: tuple[float, float] | None = None
    model: Model | None = None


def latest_basis(store: Store) -> Basis:
    run = store.served_run()
    if run is None:
        return Basis(None, Policy())
    run_id = str(run["run_id"])
    if run_id not in _BASES:
        params = run["params"]
        model = Model.from_dict(params["model"]) if params.get("model") else None
        prior = tuple(model.prior) if model else tuple(params["prior"]) if params.get("prior") else None
        _BASES[run_id] = Basis(run_id, Policy.model_validate(params["policy"]), int(run["seed"]), prior, model)
    return _BASES[run_id]


def _unstored(found: neighbourhood.Neighbourhood, prepared: Prepared) -> None:
    """A dry run's application is not in the store: add what it would have written."""
    me, at = prepared.applicant_id, prepared.applied_at
    for kind, value in prepared.own():
        found.add_link(me, kind, value, False, at)
    for contact in prepared.contacts:
        found.add_link(me, "phone", contact["contact_phone"], True, contact["recorded_at"], contact["source"])
    if prepared.application.get("consents") is not None:
        found.consents[me] = prepared.application["consents"]
    if (me, at) not in found.applications:
        found.applications.append((me, at))


def score_neighbourhood(store: Store, prepared: Prepared, *, deadline: float | None = None,
                        basis: Basis | None = None, run_scores: Callable[[list[str]], dict] | None = None,
                        labels_until: int | None = None) -> dict:
    """Score an application from its bounded neighbourhood and the served run.

    ``deadline`` (a ``time.monotonic()`` value) stops the group's growth early;
    the answer then says ``truncated``. Everything is read as of the application's
    time, so a stored application can be scored again as it was scored then
    (:func:`score_as_of`); ``basis`` and ``run_scores`` (``Store.latest_scores``'s
    answer for the given applicants) then stand for a run not written, and
    ``labels_until`` hides outcomes observed later.
    """
    basis = basis or latest_basis(store)
    policy, me, at = basis.policy, prepared.applicant_id, prepared.applied_at
    found = neighbourhood.around(store, me, prepared.own() + [("phone", p) for p in prepared.listed()],
                                 policy.feature_cap)
    _unstored(found, prepared)
    projection = found.projection(as_of=at, labels_until=labels_until, consent=policy.consent)
    linked = linkage.link(projection, policy, None)
    table = features.compute(projection, policy, at=at, positions=np.array([0]), prior=basis.prior,
                             linked=linked, keep_rows=True)
    found_local = reasons.local(projection, linked, policy, np.array([0]), table)
    strength = {code: float(p[0]) for code, p in found_local.strength.items()}
    if basis.model is not None:  # the model's families take the place of the hand-set local reasons
        strength = {code: p for code, p in strength.items() if code in STRUCTURAL}
    reported = [c for c, p in strength.items() if round(1000 * p) >= MIN_POINTS]
    involved = reasons.involved(found_local, [0], {0: reported}, projection, linked, policy, table.rows, {0: 0})
    names = {int(j): (projection.arrays.kinds[projection.arrays.identifier_kind[j]],
                      projection.arrays.identifier_value[j]) for j in involved}
    evidence = {c: reasons.evidence(found_local, 0, c, projection, linked, policy, table.rows, 0, names)
                for c in reported}

    graph = linked.graph  # the applicant's row of the CSR arrays, no new matrix
    row = slice(graph.indptr[0], graph.indptr[1])
    neighbours = {projection.applicants[j]: float(w) for j, w in zip(graph.indices[row], graph.data[row])}
    ids = sorted(neighbours)
    if run_scores is not None:
        run_rows = run_scores(ids + [me])
    else:
        run_rows = store.latest_scores(basis.run_id, ids + [me]) if basis.run_id else {}
    ring = _run_ring(me, neighbours, run_rows, policy)
    if ring is not None and ring["risk"] is not None:
        strength[ReasonCode.RING_MEMBER] = STRENGTH[ReasonCode.RING_MEMBER] * ring["risk"]
        evidence[ReasonCode.RING_MEMBER] = {"ring_id": ring["ring_id"], "ring_risk": ring["risk"],
                                            **({"via": ring["via"]} if ring["via"] else {})}
    group = _emerging(store, found, policy, basis, at, labels_until, deadline, projection, linked)
    if group is not None and group["risk"] >= policy.min_ring_risk:
        strength[ReasonCode.EMERGING_RING] = STRENGTH[ReasonCode.EMERGING_RING] * group["risk"]
        evidence[ReasonCode.EMERGING_RING] = {k: group[k] for k in ("size", "risk", "members", "features",
                                                                     "truncated")}
    fraud_known = {projection.applicants[i] for i in np.flatnonzero(projection.fraud)}
    default_known = {projection.applicants[i] for i in np.flatnonzero(projection.default)}
    for code, known in ((ReasonCode.FRAUD_PROXIMITY, fraud_known), (ReasonCode.DEFAULT_PROXIMITY, default_known)):
        best_p, best_path = 0.0, None
        for a in ids:
            damp = (1 - policy.restart) * min(neighbours[a], 1.0)
            if a in known:
                p, path = STRENGTH[code] * damp, [me, a]
            elif (stored := _stored_reason(run_rows, a, code)) is not None:
                p, path = stored["points"] / 1000 * damp, [me, *stored["evidence"]["path"]]
            else:
                continue
            if p > best_p:
                best_p, best_path = p, path
        if best_path and me not in known:
            strength[code], evidence[code] = best_p, {"path": best_path}

    points = {c: round(1000 * p) for c, p in strength.items()}
    if basis.model is not None:
        for code in (ReasonCode.FRAUD_PROXIMITY, ReasonCode.DEFAULT_PROXIMITY):
            strength.pop(code, None), points.pop(code, None)
        probability, family_points = reasons.scorecard(basis.model, table)
        score = int(np.atleast_1d(combine({c: np.array([p]) for c, p in strength.items()},
                                          model_probability=probability))[0])
        points.update({code: int(p[0]) for code, p in family_points.items()})
        evidence.update(reasons.scorecard_evidence(basis.model, table, [0])[0])
    else:
        score = int(np.atleast_1d(combine({c: np.array([p]) for c, p in strength.items()}))[0])
    listed = sorted(({"code": str(c), "points": p, "evidence": evidence[c]}
                     for c, p in points.items() if p >= MIN_POINTS), key=lambda r: (-r["points"], r["code"]))
    hubs = int(sum(v[0] > 0 for k, v in table.columns.items() if k.endswith("_hub")))
    return {
        "applicant_id": me, "score": score, "band": policy.bands.of(score), "reasons": listed, "ring": ring,
        "group": None if group is None else {k: group[k] for k in ("size", "risk", "members", "features",
                                                                    "truncated")},
        "versions": {"run_id": basis.run_id, "policy_version": policy.version,
                     "consent_version": policy.consent.version,
                     "model_id": basis.model.model_id if basis.model else None},
        "neighbourhood": {"identifiers": len(found.degree), "hubs": hubs, "applicants": len(found.applicants) - 1,
                          "truncated": found.truncated},
        "decision": decision.notice(me, listed),
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def score_on_write(store: Store, application: dict, contacts: list[dict], settings: Settings, *,
                   dry_run: bool = False, budget_ms: float | None = None) -> dict:
    """The whole score-on-write path: take the application in (:mod:`graphsvc.online.intake`:
    validate, quarantine, leave out what erased people left), write it with its contacts
    in one transaction (not with ``dry_run``, which only checks it would not conflict),
    and score it (:func:`score_neighbourhood`) within ``budget_ms``, counted from the
    write (None: no time bound). The answer adds ``stored`` (False when the same
    application was already stored, or for a dry run) and ``ignored``.

    Raises
    ------
    InvalidApplicationError
        For a missing or unusable key field, or an erased applicant.
    ConflictError
        When the application id is stored with other content.
    """
    prepared = prepare_application(application, contacts, settings)
    screen_forgotten(store, prepared, settings.identity_key())
    if dry_run:
        check_application(store, prepared)
    stored = False if dry_run else store_application(store, prepared)
    deadline = None if budget_ms is None else time.monotonic() + budget_ms / 1000
    return {**score_neighbourhood(store, prepared, deadline=deadline), "stored": stored, "ignored": prepared.ignored}


def score_as_of(store: Store, applicant_id: str, at: int, **context) -> dict:
    """Score a stored applicant as score-on-write scored it at ``at`` (its links first
    seen by then; ``context`` as :func:`score_neighbourhood` takes it). Identifiers
    that are hubs now count as hubs then too."""
    prepared = Prepared({"application_id": "", "applicant_id": applicant_id, "applied_at": int(at)}, [])
    return score_neighbourhood(store, prepared, **context)


def _stored_reason(run_rows: dict[str, RunScore], applicant: str, code: ReasonCode) -> dict | None:
    row = run_rows.get(applicant)
    if row is None or not isinstance(row.reasons, str) or str(code) not in row.reasons:
        return None
    return next((r for r in json.loads(row.reasons) if r["code"] == code), None)


def _run_ring(me: str, neighbours: dict[str, float], run_rows: dict[str, RunScore], policy: Policy) -> dict | None:
    """The applicant's ring in the served run, or the ring of a member it is strongly linked to."""
    mine = run_rows.get(me)
    if mine is not None and mine.ring_id is not None:
        return {"ring_id": mine.ring_id, "member": True, "via": None, "risk": mine.ring_risk, "size": mine.ring_size}
    linked = [a for a, w in neighbours.items() if w >= policy.strong_link and a in run_rows
              and run_rows[a].ring_id is not None]
    if not linked:
        return None
    via = max(linked, key=lambda a: (neighbours[a], a))
    theirs = run_rows[via]
    return {"ring_id": theirs.ring_id, "member": False, "via": via, "risk": theirs.ring_risk, "size": theirs.ring_size}


def _emerging(store: Store, found: neighbourhood.Neighbourhood, policy: Policy, basis: Basis, at: int,
              labels_until: int | None, deadline: float | None, projection, linked) -> dict | None:
    """The group the applicant forms with others as the batch would find it: its
    strong-link component grown a round at a time (then split by Leiden when large),
    with the ring features and risk of :mod:`graphsvc.analytics.rings`. None below ring size.

    Only a group forming now is grown: one with a strong neighbour whose first
    application falls within ``policy.velocity_window_days`` before this one. A group
    of older members is the served run's to have found (``RING_MEMBER`` via one of
    them); fetching it again on every application would cost most requests a second
    round trip for nothing.
    """
    window = policy.velocity_window_days * DAY
    strong = linked.strong(policy.strong_link)
    neighbours = strong.indices[strong.indptr[0]:strong.indptr[1]]
    age = at - projection.first_applied[neighbours]
    if not ((age >= 0) & (age <= window)).any():
        return None
    while True:
        strong = linked.strong(policy.strong_link)
        _, component = csgraph.connected_components(strong, directed=False)
        members = np.flatnonzero(component == component[0])
        todo = set(projection.applicants[members].tolist()) - found.expanded
        if not todo or len(members) < 2:
            break
        if len(found.applicants) >= policy.online_group_cap or neighbourhood.deadline_passed(deadline):
            found.truncated = True
            break
        neighbourhood.expand(store, found, sorted(todo))
        projection = found.projection(as_of=at, labels_until=labels_until, consent=policy.consent)
        linked = linkage.link(projection, policy, None)
    if len(members) < policy.min_ring_size:
        return None
    label = rings.communities(linked.strong(policy.strong_link), policy, basis.seed)
    label[~projection.known] = -1
    label = rings.prune(label, linked, policy)
    if label[0] < 0:
        return None
    group = np.where(label == label[0], 0, -1)
    table = rings.features(group, projection, linked, policy)
    risk = float(rings.risk(table)[0])
    members = projection.applicants[group == 0].tolist()
    features_ = {k: (None if v != v else round(float(v), 4)) for k, v in table.iloc[0].drop(
        ["size", "fraud", "default"]).items()}
    return {"size": len(members), "risk": round(risk, 4), "members": sorted(members)[:50],
            "features": features_, "truncated": found.truncated}
