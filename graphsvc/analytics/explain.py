"""Explaining a score to a person: its reasons, each with evidence spelled out.

A stored reason carries compact evidence (identifiers, a ring id, a path of
applicant ids). :func:`explain` reads the applicant's score from a run and
turns each path into steps that say what links consecutive applicants (the
device they share, the phone one lists of the other's), read from the store.
"""

from __future__ import annotations

import itertools
import json

import pandas as pd

from graphsvc.analytics.scoring import STRENGTH, ReasonCode
from graphsvc.errors import NotFoundError
from graphsvc.ingest import normalise
from graphsvc.ingest.contract import RAW_KINDS, TOKENISED
from graphsvc.people.consent import ConsentRules
from graphsvc.store.base import Store

DESCRIPTIONS = {
    ReasonCode.CONFIRMED_FRAUD: "has a confirmed fraud outcome",
    ReasonCode.RING_MEMBER: "belongs to a detected ring",
    ReasonCode.EMERGING_RING: "joins or closes a group that is a ring as of the application",
    ReasonCode.SHARES_WITH_FRAUD: "shares identifiers with a confirmed-fraud applicant",
    ReasonCode.DEVICE_VELOCITY: "uses a device others took up in the last days",
    ReasonCode.NETWORK_VELOCITY: "applies from an address or subnet others used in the last days",
    ReasonCode.IDENTITY_VELOCITY: "shares an identity number, phone or declared identifier others used lately",
    ReasonCode.CONTACT_VELOCITY: "lists, or is listed by, numbers many others took up in the last days",
    ReasonCode.GROUP_VELOCITY: "is strongly linked to applicants who applied in the last days",
    ReasonCode.SCORECARD_DEVICE: "the fitted model's device features (sharing, take-up, fraud among holders)",
    ReasonCode.SCORECARD_NETWORK: "the fitted model's IP and subnet features",
    ReasonCode.SCORECARD_IDENTITY: "the fitted model's phone, identity-number and declared-identifier features",
    ReasonCode.SCORECARD_CONTACT: "the fitted model's contact-list features (who lists whom, co-listed numbers)",
    ReasonCode.SCORECARD_GROUP: "the fitted model's features of strongly linked applicants who applied lately",
    ReasonCode.SCORECARD_RELATIONS: "the fitted model's relation features (transfers, referrals ...)",
    ReasonCode.SCORECARD_HISTORY: "the fitted model's application-history features",
    ReasonCode.FRAUD_PROXIMITY: "is a few links away from confirmed fraud",
    ReasonCode.HUB_IDENTIFIER: "uses an identifier held by unusually many applicants",
    ReasonCode.SHARED_INVALID_VALUE: "typed the same invalid phone, IP or identity number as a few other applicants",
    ReasonCode.DEFAULT_PROXIMITY: "is a few links away from defaulted borrowers",
}


def catalogue() -> pd.DataFrame:
    """The reason codes, their maximum points and what they mean."""
    return pd.DataFrame({"code": [str(c) for c in ReasonCode],
                         "max_points": [round(1000 * STRENGTH[c]) for c in ReasonCode],
                         "meaning": [DESCRIPTIONS[c] for c in ReasonCode]})


def _both_use(kind: str, value: str) -> str:
    """A shared identifier in words; identity tokens and values kept as typed are not spelled out."""
    if kind in TOKENISED:
        return "both use the same identity number" if kind == "id_number" else \
            "both typed the same invalid identity number"
    if kind in RAW_KINDS.values():
        return f"both typed the same invalid {kind[len('raw_'):].replace('_', ' ')}"
    return f"both use {kind} {value}"


def link_between(store: Store, first: str, second: str, consent: ConsentRules | None = None) -> list[str]:
    """What links two applicants, in words: shared identifiers, contact listings the
    consent rules allow for linkage, and relations between them (transfers, referrals ...)."""
    links = (consent or ConsentRules()).links(store.applicant_links([first, second]), "linkage")
    own = links[links["role"] == "own"]
    mine = own[own["applicant_id"] == first]
    theirs = own[own["applicant_id"] == second]
    said = [_both_use(k, v) for k, v in sorted(set(zip(mine["kind"], mine["value"]))
                                               & set(zip(theirs["kind"], theirs["value"])))]
    listed = links[links["role"] == "contact"]
    for who, other, their_own in ((first, second, theirs), (second, first, mine)):
        phones = set(listed.loc[listed["applicant_id"] == who, "value"]) & set(
            their_own.loc[their_own["kind"] == "phone", "value"])
        said += [f"{who} lists {other}'s phone {p} as a contact" for p in sorted(phones)]
    shared_contacts = set(listed.loc[listed["applicant_id"] == first, "value"]) & set(
        listed.loc[listed["applicant_id"] == second, "value"])
    said += [f"both list contact {p}" for p in sorted(shared_contacts)]
    relations = store.applicant_relations([first])
    between = relations[relations["src_applicant_id"].isin([first, second])
                        & relations["dst_applicant_id"].isin([first, second])]
    for (kind, src, dst), group in between.groupby(["type", "src_applicant_id", "dst_applicant_id"], sort=True):
        times = pd.to_numeric(group["at"], errors="coerce").dropna()
        first, last = (normalise.format_timestamp(times.min()), normalise.format_timestamp(times.max())) \
            if len(times) else (None, None)
        if len(group) == 1:
            said.append(f"{kind} from {src} to {dst}" + (f" on {first}" if first else ""))
        else:
            said.append(f"{len(group)} {kind}s from {src} to {dst}" + (f" between {first} and {last}" if first else ""))
    return said


def _run_consent(store: Store, run_id: str) -> ConsentRules:
    """The consent rules the run was scored under (the defaults for a run older than them)."""
    runs = store.runs()
    params = runs.loc[runs["run_id"] == run_id, "params"]
    policy = params.iloc[0].get("policy", {}) if len(params) else {}
    return ConsentRules.model_validate(policy.get("consent", {}))


def explain(store: Store, run_id: str, applicant_id: str) -> dict:
    """Score, band, ring and reasons of an applicant in a run, paths spelled out.

    Raises
    ------
    NotFoundError
        When the run has no score for the applicant.
    """
    row = store.run_table(run_id, "scores", where={"applicant_id": [applicant_id]})
    if not len(row):
        raise NotFoundError(f"run {run_id} has no score for applicant {applicant_id!r}")
    record = row.iloc[0]
    reasons = json.loads(record["reasons"]) if isinstance(record["reasons"], str) else []
    consent = _run_consent(store, run_id)
    for reason in reasons:
        reason["meaning"] = DESCRIPTIONS[ReasonCode(reason["code"])]
        path = reason["evidence"].get("path")
        if path:
            reason["evidence"]["steps"] = [
                {"from": a, "to": b, "links": link_between(store, a, b, consent)} for a, b in itertools.pairwise(path)
            ]
    ring = None if record["ring_id"] is None else record["ring_id"]
    return {"run_id": run_id, "applicant_id": applicant_id, "score": int(record["score"]),
            "band": record["band"], "ring_id": ring, "reasons": reasons, "consent_version": consent.version}


def as_text(explanation: dict) -> str:
    """An explanation as lines a person reads top to bottom."""
    e = explanation
    lines = [f"{e['applicant_id']}: score {e['score']} ({e['band']})"
             + (f", ring {e['ring_id']}" if e["ring_id"] else "") + f"  [run {e['run_id']}]"]
    if not e["reasons"]:
        lines.append("  no graph evidence of risk")
    for reason in e["reasons"]:
        lines.append(f"  {reason['points']:>4}  {reason['code']}: {reason['meaning']}")
        evidence = reason["evidence"]
        if "shared" in evidence:
            things = [s["kind"] if s["value"] is None else f"{s['kind']} {s['value']}" for s in evidence["shared"]]
            things += [f"contact {c}" for c in evidence["shared_contacts"]]
            if evidence["contact_listing"]:
                things.append("one lists the other's phone")
            lines.append(f"        with {evidence['applicant_id']} (confirmed fraud): {'; '.join(things)}")
        if "ring_id" in evidence:
            lines.append(f"        ring {evidence['ring_id']} (risk {evidence['ring_risk']})")
        if "holders" in evidence:
            what = evidence["kind"] if evidence["value"] is None else f"{evidence['kind']} {evidence['value']}"
            lines.append(f"        {what} is held by {evidence['holders']} applicants")
        end = " (confirmed fraud)" if reason["code"] == ReasonCode.FRAUD_PROXIMITY else " (defaulted)"
        steps = evidence.get("steps", [])
        for number, step in enumerate(steps, start=1):
            last = end if number == len(steps) else ""
            lines.append(f"        {step['from']} -> {step['to']}{last}: {'; '.join(step['links']) or 'linked'}")
    return "\n".join(lines)
