"""Skip-tracing: ranked ways to reach a borrower who stopped answering.

Candidates come from multi-hop reasoning over the relationship graph, each with
the evidence that produced it:

=====================  =========  ====================================================
evidence               channel    how it is found
=====================  =========  ====================================================
``confirmed``          own        a ``contact_restored`` outcome recorded the phone
``same_device``        own        a phone on another application from the borrower's device
``same_identity``      own        a phone on another application under the borrower's identity
``named_by_contact``   own        someone close lists a phone under the borrower's name
``own_phone``          own        one of the borrower's own phones
``declared_contact``   third      a phone the borrower listed as a contact
``reverse_contact``    third      the own phone of someone who lists the borrower's phone
``co_applicant``       third      the own phone of someone on the borrower's home IP or device
=====================  =========  ====================================================

Evidence seen after the borrower was lost weighs more than older evidence (a
phone on a new application from the same device is probably the new number; the
same phone years earlier may be a relative's); identifiers held by more than
their kind's hub cap are never traversed; numbers recorded dead (the phone of a
``lost_contact`` outcome) are left out. The confidence of each kind is the hit
rate measured on generated data (``docs/skiptrace.md``).

Compliance: third-party candidates may be used only to ask for a way to reach the
borrower (``usage``), never to discuss the debt; only contacts whose source the
consent rules allow for ``collections`` are read at all (by default never an
address book's, :mod:`graphsvc.people.consent`), so no number is proposed, nor anyone
reached, through them; every skip-trace is audited with its purpose by the API.
"""

from __future__ import annotations

import math

import pandas as pd

from graphsvc.analytics.policy import Policy
from graphsvc.store.base import Store

#: evidence kind -> (channel, confidence when seen after the loss, confidence when before).
#: Own channels: the share of such candidates that were the borrower's new phone on
#: generated data (``python benchmarks/skiptrace.py`` prints the calibration table);
#: third parties are never the borrower's phone, so theirs are priors that keep
#: them below every own channel with fresh evidence.
EVIDENCE = {
    "confirmed": ("own", 0.99, 0.99),
    "same_device": ("own", 0.93, 0.1),
    "same_identity": ("own", 0.97, 0.3),
    "named_by_contact": ("own", 0.95, 0.1),
    "own_phone": ("own", 0.2, 0.05),
    "declared_contact": ("third_party", 0.35, 0.3),
    "reverse_contact": ("third_party", 0.3, 0.25),
    "co_applicant": ("third_party", 0.2, 0.15),
}
USAGE = {"own": "contact_borrower", "third_party": "ask_for_borrower_only"}
COLUMNS = ["rank", "phone", "channel", "evidence", "relation", "confidence", "seen", "usage", "via"]
CLOSE_RELATIONS = {"spouse": 0.1, "parent": 0.1, "sibling": 0.05}


def _after(seen: float | None, lost_at: int | None) -> bool:
    return lost_at is None or (seen is not None and seen == seen and seen > lost_at)


def skiptrace(store: Store, applicant_id: str, policy: Policy | None = None, limit: int = 10) -> pd.DataFrame:
    """Ranked contact points for ``applicant_id`` (:data:`COLUMNS`), best first.

    ``via`` names the applicant (and identifier) each candidate was reached
    through; ``seen`` is when the evidence was recorded (ISO 8601).

    Raises
    ------
    NotFoundError
        When the applicant is unknown.
    """
    from graphsvc.errors import NotFoundError
    from graphsvc.ingest import normalise

    policy = policy or Policy()
    outcomes = store.applicant_outcomes(applicant_id)
    everything = store.applicant_links([applicant_id])
    if not len(everything) and not outcomes:
        raise NotFoundError(f"no applicant {applicant_id!r}")

    def usable(links):  # only contacts whose source the consent rules allow collectors to use
        return policy.consent.links(links, "collections")

    mine = usable(everything)
    lost = [at for outcome, at, _ in outcomes if outcome == "lost_contact" and at is not None]
    lost_at = max(lost) if lost else None
    dead = {phone for outcome, _, phone in outcomes if outcome == "lost_contact" and phone}
    restored = {phone: at for outcome, at, phone in outcomes if outcome == "contact_restored" and phone}

    candidates: dict[str, dict] = {}

    def offer(phone: str, kind: str, seen, relation: str | None = None, via: str | None = None) -> None:
        if phone in dead:
            return
        channel, after, before = EVIDENCE[kind]
        confidence = after if _after(seen, lost_at) else before
        if relation in CLOSE_RELATIONS and channel == "third_party":
            confidence += CLOSE_RELATIONS[relation]
        best = candidates.get(phone)
        if best is None or (best["channel"] == "third_party" and channel == "own") or (
                best["channel"] == channel and confidence > best["confidence"]):
            candidates[phone] = {"phone": phone, "channel": channel, "evidence": kind, "relation": relation,
                                 "confidence": round(confidence, 3),
                                 "seen": normalise.format_timestamp(seen), "via": via}

    for phone, at in restored.items():
        offer(phone, "confirmed", at)
    own = mine[mine["role"] == "own"]
    own_phones = set(own.loc[own["kind"] == "phone", "value"])
    for row in own[own["kind"] == "phone"].itertuples(index=False):
        offer(row.value, "own_phone", row.last_seen)
    for row in mine[mine["role"] == "contact"].itertuples(index=False):
        offer(row.value, "declared_contact", row.last_seen, row.relation or None)

    # who shares the borrower's device, identity or home IP (never through hubs)
    shared = [(k, v) for k, v in zip(own["kind"], own["value"]) if k in ("device", "id_number", "ip")]
    caps = {k: policy.rule(k).hub for k in ("device", "id_number", "ip")}
    sharing = usable(store.identifier_links(shared, max_degree=max(caps.values()))) if shared else mine.iloc[0:0]
    sharing = sharing[(sharing["applicant_id"] != applicant_id) & (sharing["role"] == "own")]
    degree = sharing.groupby(["kind", "value"])["applicant_id"].nunique()
    sharing = sharing[[degree[(k, v)] + 1 <= caps[k] for k, v in zip(sharing["kind"], sharing["value"])]]
    # who lists the borrower's phones, and whom the borrower lists
    listing = usable(store.identifier_links([("phone", p) for p in own_phones],
                                            max_degree=policy.rule("phone").hub * 10)) if own_phones else mine.iloc[0:0]
    reverse = listing[(listing["role"] == "contact") & (listing["applicant_id"] != applicant_id)]
    names = {n for n in reverse["name"] if isinstance(n, str)}
    listed = mine.loc[mine["role"] == "contact", "value"].tolist()
    holders = usable(store.identifier_links([("phone", p) for p in listed], max_degree=policy.rule("phone").hub)) \
        if listed else mine.iloc[0:0]
    contacts = holders[(holders["role"] == "own") & (holders["applicant_id"] != applicant_id)]

    circle: dict[str, list[tuple[str, str | None]]] = {}  # applicant -> how each is close
    for row in sharing.itertuples(index=False):
        how = {"device": "same_device", "id_number": "same_identity", "ip": "co_applicant"}[row.kind]
        # an identity number's token never leaves the service: the evidence names the kind only
        detail = "the borrower's identity number" if row.kind == "id_number" else f"{row.kind} {row.value}"
        circle.setdefault(row.applicant_id, []).append((how, detail))
    for row in reverse.itertuples(index=False):
        circle.setdefault(row.applicant_id, []).append(("reverse_contact", row.relation or None))
    for row in contacts.itertuples(index=False):
        circle.setdefault(row.applicant_id, []).append(("declared_contact", None))
    if circle:
        theirs = usable(store.applicant_links(sorted(circle)))
        for row in theirs.itertuples(index=False):
            if row.value in own_phones:
                continue
            if row.role == "contact":
                if isinstance(row.name, str) and row.name in names:
                    offer(row.value, "named_by_contact", row.first_seen,
                          via=f"{row.applicant_id} (lists it under the borrower's name)")
                continue
            if row.kind != "phone":
                continue
            for how, detail in circle[row.applicant_id]:
                if how in ("same_device", "same_identity"):
                    offer(row.value, how, row.first_seen, via=f"{row.applicant_id} ({detail})")
                elif how == "reverse_contact":
                    offer(row.value, how, row.last_seen, relation=detail, via=row.applicant_id)
                else:  # co-applicants, and the holders of phones the borrower declared
                    offer(row.value, "co_applicant" if how == "co_applicant" else "declared_contact",
                          row.last_seen, via=f"{row.applicant_id} ({detail})" if detail else row.applicant_id)

    ranked = sorted(candidates.values(), key=lambda c: (-c["confidence"], c["channel"] != "own",
                                                        -(_order(c["seen"])), c["phone"]))[:limit]
    frame = pd.DataFrame(ranked, columns=[c for c in COLUMNS if c not in ("rank", "usage")])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame["usage"] = [USAGE[c] for c in frame["channel"]]
    return frame[COLUMNS]


def _order(seen: str | None) -> float:
    return -math.inf if seen is None else pd.Timestamp(seen).timestamp()


def lost_contact_borrowers(store: Store) -> list[str]:
    """Applicants with a ``lost_contact`` outcome and no later ``contact_restored``."""
    lost = store.outcome_events("lost_contact").groupby("applicant_id")["observed_at"].max()
    restored = store.outcome_events("contact_restored").groupby("applicant_id")["observed_at"].max()
    still = [a for a, at in lost.items() if a not in restored.index or restored[a] < at]
    return sorted(still)


def evaluate(store: Store, truth: pd.DataFrame, policy: Policy | None = None, progress=None,
             calibration: list | None = None) -> pd.DataFrame:
    """Hit@1, hit@3, mean reciprocal rank and coverage against a truth file of
    lost-contact borrowers (``applicant_id``, ``new_phone``, ``route``), per route
    (how the new phone is discoverable) and over all reachable routes.

    With a ``calibration`` list, every candidate proposed is appended to it as
    ``(evidence, confidence, is_the_new_phone)``: :func:`calibration_table` turns
    that into the hit rate per evidence kind, which the confidences follow.
    """
    from graphsvc.ingest import normalise

    truth = truth.assign(new=normalise.phones(truth["new_phone"].astype(str)).to_numpy(object))
    rows = []
    for done, row in enumerate(truth.itertuples(index=False), start=1):
        found = skiptrace(store, row.applicant_id, policy)
        phones = found["phone"].tolist()
        rank = phones.index(row.new) + 1 if row.new in phones else None
        rows.append({"route": row.route, "rank": rank})
        if calibration is not None:
            calibration.extend(zip(found["evidence"], found["confidence"], found["phone"] == row.new))
        if progress:
            progress("skip-tracing", done, len(truth))
    ranks = pd.DataFrame(rows)
    ranks["hit_at_1"] = ranks["rank"] == 1
    ranks["hit_at_3"] = ranks["rank"] <= 3
    ranks["reciprocal_rank"] = 1 / ranks["rank"].fillna(math.inf)
    ranks["coverage"] = ranks["rank"].notna()

    def summary(part: pd.DataFrame) -> dict:
        return {"borrowers": len(part), **{m: round(float(part[m].mean()), 4) if len(part) else None
                                          for m in ("hit_at_1", "hit_at_3", "reciprocal_rank", "coverage")}}

    out = [{"route": route, **summary(part)} for route, part in ranks.groupby("route")]
    out.append({"route": "reachable", **summary(ranks[ranks["route"] != "unreachable"])})
    return pd.DataFrame(out).rename(columns={"reciprocal_rank": "mrr"})


def calibration_table(calibration: list) -> pd.DataFrame:
    """Per evidence kind and stated confidence: candidates, and the share that was the new phone."""
    frame = pd.DataFrame(calibration, columns=["evidence", "confidence", "hit"])
    return (frame.groupby(["evidence", "confidence"])["hit"].agg(candidates="size", hit_rate="mean")
            .round(4).reset_index())
