"""Personal data in API output, masked by role.

Phones (and invalid phones kept as typed, ``raw_phone``) show their first three
and last four national digits (``138****1234``) and names their first character
(``张*``) to every role but admin; identity number tokens (``id_number`` and
``raw_id_number``) are never returned to anyone. Other identifiers (devices,
IPs, cards) are shown as stored.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers

from graphsvc.api.security import Role
from graphsvc.ingest.contract import PHONE_KINDS, TOKENISED

WITHHELD = None  # what an identity token becomes


def mask_phone(e164: str) -> str:
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in e164 if ch.isdigit())
    if len(national) <= 7:
        return national[:2] + "*" * max(len(national) - 2, 0)
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def number_digest(e164: str, key: bytes) -> str:
    """A keyed digest of a phone number (16 hex digits), for audit rows that record which
    number was shown without holding it (an unkeyed hash of a phone is reversed by trying
    every number)."""
    return hmac.new(key, f"phone:{e164}".encode(), hashlib.sha256).hexdigest()[:16]


def reveal_handle(applicant_id: str, e164: str, key: bytes) -> str:
    """What a masked skip-trace number is revealed by: a keyed digest of the borrower
    and the number, meaningless to anyone without the key."""
    return "rv-" + hmac.new(key, f"reveal:{applicant_id}:{e164}".encode(), hashlib.sha256).hexdigest()[:20]


def mask_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1) if name else name


def identifier(kind: str, value: str | None, role: Role) -> str | None:
    """An identifier value as ``role`` may see it."""
    if value is None or kind in TOKENISED:
        return WITHHELD
    if kind in PHONE_KINDS and role is not Role.ADMIN:
        return mask_phone(value)
    return value


def name(value: str | None, role: Role) -> str | None:
    if not isinstance(value, str):  # missing (None or NaN from a frame)
        return None
    return value if role is Role.ADMIN else mask_name(value)


def evidence(items: list[dict], role: Role) -> list[dict]:
    """Reasons with their evidence values masked for ``role``."""
    out = []
    for reason in items:
        ev = dict(reason["evidence"])
        if "shared" in ev:
            ev["shared"] = [{"kind": s["kind"], "value": identifier(s["kind"], s["value"], role)} for s in ev["shared"]]
        if "shared_contacts" in ev:
            ev["shared_contacts"] = [identifier("phone", v, role) for v in ev["shared_contacts"]]
        if "kind" in ev and "value" in ev:
            ev["value"] = identifier(ev["kind"], ev["value"], role)
        out.append({**reason, "evidence": ev})
    return out


def node_handle(kind: str, value: str, salt: bytes) -> str:
    """The id a masked identifier's node carries in a network answer: a keyed digest of
    the value (``deps.handle_salt``: derived from the identity key), the same in every
    answer (so a console can merge expansions) and meaningless without the key."""
    return f"{kind}:~" + hmac.new(salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


def elements(graph, role: Role, salt: bytes) -> tuple[dict, list[str]]:
    """A network (``Service.ego_network``, ``Service.ring_graph``) as Cytoscape.js
    elements masked for ``role``, and the applicants it shows (for the audit row).

    Node ids never carry what a label masks: identity tokens, and phones for every
    role but admin, are identified by :func:`node_handle`.
    """
    nodes, edges, subjects, ids = [], [], [], {}
    for node, data in graph.nodes(data=True):
        kind = data["kind"]
        hidden = kind in TOKENISED or (kind in PHONE_KINDS and role is not Role.ADMIN)
        ids[node] = node_handle(kind, data["value"], salt) if hidden else node
        if kind == "applicant":
            subjects.append(data["value"])
        label = data["value"] if kind == "applicant" else identifier(kind, data["value"], role)
        nodes.append({"data": {"id": ids[node], "label": label, "kind": kind,
                               **{k: v for k, v in data.items() if k in ("hub", "degree", "outcomes")}}})
    for a, b, data in graph.edges(data=True):
        edges.append({"data": {"id": f"{ids[a]}|{ids[b]}", "source": ids[a], "target": ids[b],
                               "roles": data["roles"], "count": data["count"]}})
    return {"nodes": nodes, "edges": edges}, subjects
