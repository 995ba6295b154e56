"""Subject access: everything held about one person, for them to read.

:func:`export` gathers, by natural keys, what the store holds about an applicant:
applications, identifiers (identity numbers only as "held": a token means nothing
to its owner and must not leave), the contacts they declared, how many people list
them (never who), outcomes, relations, the consents they stated (None: never), every
run's score with its reasons and ring, their requests for human review, and every
audit row of access to their data. :func:`to_html` renders it as one
readable page. ``graphsvc subject export`` and ``GET /v1/subjects/{id}`` serve it;
both write an audit row.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

from graphsvc.ingest.contract import TOKENISED, LinkRole
from graphsvc.ingest.normalise import format_timestamp
from graphsvc.store.base import Store, require_applicant


def export(store: Store, applicant_id: str) -> dict:
    """What the store holds about ``applicant_id``, as plain JSON-ready values.

    Raises
    ------
    NotFoundError
        When the store holds no such applicant.
    """
    require_applicant(store, applicant_id)
    outcomes, applications = store.timelines([applicant_id])
    links = store.applicant_links([applicant_id])
    own = links[links["role"] == str(LinkRole.OWN)].sort_values(["kind", "value"])
    declared = links[links["role"] == str(LinkRole.CONTACT)].sort_values("value")
    phones = [("phone", v) for v in own.loc[own["kind"] == "phone", "value"]]
    listing = store.identifier_links(phones) if phones else links.iloc[0:0]
    listers = listing[(listing["role"] == str(LinkRole.CONTACT)) & (listing["applicant_id"] != applicant_id)]
    relations = store.applicant_relations([applicant_id])
    scores = []
    for run in store.runs().itertuples(index=False):
        found = store.run_table(run.run_id, "scores", where={"applicant_id": [applicant_id]})
        for row in found.itertuples(index=False):
            reasons = json.loads(row.reasons) if isinstance(row.reasons, str) else []
            scores.append({"run_id": run.run_id, "created_at": run.created_at, "score": int(row.score),
                           "band": row.band, "ring_id": row.ring_id,
                           "reasons": [{"code": r["code"], "points": r["points"]} for r in reasons]})
    access = store.access_log(limit=1_000_000, subject=applicant_id)
    stated = [c for c in links["consents"] if isinstance(c, str)]
    reviews = store.reviews(applicant_id=applicant_id)
    return {
        "applicant_id": applicant_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "applications": [{"applied_at": format_timestamp(at)} for _, at in sorted(applications, key=lambda r: r[1])],
        "identifiers": [{"kind": r.kind, "value": None if r.kind in TOKENISED else r.value,
                         "held": True, "first_seen": format_timestamp(r.first_seen),
                         "last_seen": format_timestamp(r.last_seen), "times": int(r.count)}
                        for r in own.itertuples(index=False)],
        "contacts_declared": [{"phone": r.value, "relation": r.relation, "name": r.name, "source": r.source,
                               "recorded": format_timestamp(r.last_seen)} for r in declared.itertuples(index=False)],
        "listed_as_a_contact_by": int(listers["applicant_id"].nunique()),
        "outcomes": [{"outcome": o, "observed_at": format_timestamp(at)}
                     for _, o, at in sorted(outcomes, key=lambda r: (r[2] is not None, r[2] or 0))],
        "relations": [{"type": r.type, "with": r.dst_applicant_id if r.src_applicant_id == applicant_id
                       else r.src_applicant_id, "direction": "from" if r.src_applicant_id == applicant_id else "to",
                       "at": format_timestamp(r.at)} for r in relations.itertuples(index=False)],
        "consents": None if not stated else (stated[0].split(",") if stated[0] else []),
        "scores": scores,
        "review_requests": [{k: r[k] for k in ("requested_at", "reason", "status", "outcome", "note", "closed_at")}
                            for r in reviews.to_dict("records")],
        "access": [{"at": r.at, "caller": r.caller, "role": r.role, "route": r.route, "status": int(r.status),
                    "purpose": r.purpose} for r in access.itertuples(index=False)],
    }


def to_html(found: dict) -> str:
    """The export as one self-contained, readable page."""
    def table(rows: list[dict], empty: str) -> str:
        if not rows:
            return f"<p>{html.escape(empty)}</p>"
        columns = list(rows[0])
        head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r[c]))}</td>" for c in columns) + "</tr>"
                       for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    scores = [{**s, "reasons": ", ".join(f"{r['code']} ({r['points']})" for r in s["reasons"])}
              for s in found["scores"]]
    identifiers = [{**i, "value": "(held; not shown)" if i["value"] is None else i["value"]}
                   for i in found["identifiers"]]
    sections = [
        ("Applications", table(found["applications"], "none")),
        ("Identifiers you used", table(identifiers, "none")),
        ("Contacts you declared", table(found["contacts_declared"], "none")),
        ("Listed as a contact", f"<p>{found['listed_as_a_contact_by']} other applicants list one of your "
                                "numbers as a contact (who they are is not shown).</p>"),
        ("Outcomes", table(found["outcomes"], "none")),
        ("Relations", table(found["relations"], "none")),
        ("Consents you gave", f"<p>{html.escape(_consents(found['consents']))}</p>"),
        ("Scores and reasons, run by run", table(scores, "never scored")),
        ("Your requests for human review", table(found["review_requests"], "none")),
        ("Who accessed your data", table(found["access"], "no access recorded")),
    ]
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>What we hold about "
            f"{html.escape(found['applicant_id'])}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
            f"</style></head><body><h1>What we hold about {html.escape(found['applicant_id'])}</h1>"
            f"<p>Generated {html.escape(found['generated_at'])}.</p>{body}</body></html>")


def _cell(value) -> str:
    return "" if value is None else str(value)


def _consents(consents: list[str] | None) -> str:
    if consents is None:
        return "none stated"
    return ", ".join(c.replace("_", " ") for c in consents) or "none (you refused every optional use)"
