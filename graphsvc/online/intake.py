"""Application intake: one application with its contacts, as underwriting posts it,
validated, normalised and screened, then written in one transaction.

In: the application's fields and contacts as plain dicts (the API's body, a replayed
row). Out: a :class:`Prepared` application (canonical identifiers, times in epoch
seconds, its content digest) with ``ignored``, the optional values left out and why;
:func:`store_application` writes it. Invalid optional values are quarantined, never
the reason an application is refused; a missing or unusable key field raises
:class:`~graphsvc.errors.InvalidApplicationError`. Writes are idempotent on
``application_id``: the same content again is not written twice, other content
under a known id raises :class:`~graphsvc.errors.ConflictError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphsvc.errors import ConflictError, InvalidApplicationError
from graphsvc.ingest import normalise
from graphsvc.ingest.contract import (
    APPLICATION_IDENTIFIER_COLUMNS,
    CONSENT_SCOPES,
    CONTACT_SOURCES,
    DERIVED_KINDS,
    KIND_NAME,
    RAW_KINDS,
    RELATIONS,
    Kind,
    RejectReason,
)
from graphsvc.ingest.validate import (
    CONSENT_DETAIL,
    KEY_DETAIL,
    TIMESTAMP_DETAIL,
    Context,
    application_digest,
    identifier_rule,
)
from graphsvc.people import erasure
from graphsvc.settings import Settings
from graphsvc.store.base import Store


@dataclass
class Prepared:
    """One validated application (``id:<kind>`` values canonical, times in epoch
    seconds, ``digest`` of its content), its validated contacts, and what was
    ignored: invalid optional fields, quarantined as the loader would."""

    application: dict
    contacts: list[dict]
    ignored: list[dict] = field(default_factory=list)

    @property
    def application_id(self) -> str:
        return self.application["application_id"]

    @property
    def applicant_id(self) -> str:
        return self.application["applicant_id"]

    @property
    def applied_at(self) -> int:
        return self.application["applied_at"]

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

    Declared identifier kinds (e-mail, bank card ...) come as
    ``application["identifiers"]``, a kind-to-value mapping, as the loader reads
    them from a mapping's ``kinds``. An invalid optional value (an identifier, a
    contact's phone, relation, source or time) is left out and reported in ``Prepared.ignored`` with its reason; a
    contact without a usable phone is left out whole. Only the key fields
    (``application_id``, ``applicant_id``, ``applied_at``) can refuse the
    application.

    Raises
    ------
    InvalidApplicationError
        When a key field is missing or invalid (every such problem is listed);
        nothing is stored.
    """
    region, zone = settings.default_region, settings.timezone
    problems: list[dict] = []
    ignored: list[dict] = []

    def note(to: list[dict], field_: str, reason: RejectReason, detail: str) -> None:
        to.append({"field": field_, "reason": str(reason), "detail": detail})

    row: dict = {}
    for column in ("application_id", "applicant_id", "applied_at"):
        row[column] = _text(application.get(column))
        if row[column] is None:
            note(problems, column, RejectReason.MISSING_VALUE, f"{column} is required")
        elif column != "applied_at" and normalise.plain_id(row[column]) is None:
            note(problems, column, RejectReason.INVALID_IDENTIFIER, KEY_DETAIL.format(column))
    if row["applied_at"] is not None:
        row["applied_at"] = normalise.timestamp_one(row["applied_at"], zone)
        if row["applied_at"] is None:
            note(problems, "applied_at", RejectReason.INVALID_TIMESTAMP, TIMESTAMP_DETAIL)
    if problems:
        raise InvalidApplicationError(problems)
    ctx = Context(identity_key=b"", region=region, timezone=zone)
    raws: dict[str, str | None] = {}
    for column, kind in APPLICATION_IDENTIFIER_COLUMNS.items():
        raw = _text(application.get(column))
        value = None if raw is None else normalise.identifier_one(str(kind), raw, region=region,
                                                                  identity_key=settings.identity_key)
        if raw is not None and value is None:
            _, reason, detail = identifier_rule(str(kind), ctx)
            note(ignored, column, reason, detail)
            if kind in RAW_KINDS:  # kept as its raw kind, as the loader keeps it
                raws[RAW_KINDS[kind]] = normalise.raw_one(str(kind), raw, settings.identity_key)
        row[f"id:{kind}"] = value
    declared = application.get("identifiers") or {}
    for kind, given in sorted(declared.items()):
        raw = _text(given)
        reserved = kind in {str(k) for k in Kind}
        value = None if raw is None or reserved or not KIND_NAME.match(kind) else normalise.plain_id(raw)
        if raw is not None and value is None:
            detail = (f"{kind} is a built-in or derived kind" if reserved else
                      f"kind must match {KIND_NAME.pattern}" if not KIND_NAME.match(kind) else
                      identifier_rule(kind, ctx)[2])
            note(ignored, f"identifiers.{kind}", RejectReason.UNKNOWN_KIND if reserved or not KIND_NAME.match(kind)
                 else RejectReason.INVALID_IDENTIFIER, detail)
        row[f"id:{kind}"] = value
    listed = []
    for i, contact in enumerate(contacts):
        raw = _text(contact.get("contact_phone"))
        phone = None if raw is None else normalise.phone_one(raw, region)
        if raw is None:
            note(ignored, f"contacts[{i}].contact_phone", RejectReason.MISSING_VALUE, "contact_phone is required")
            continue
        if phone is None:
            _, reason, detail = identifier_rule("phone", ctx)
            note(ignored, f"contacts[{i}].contact_phone", reason, detail)
            continue
        recorded = _text(contact.get("recorded_at"))
        at = None if recorded is None else normalise.timestamp_one(recorded, zone)
        if recorded is not None and at is None:
            note(ignored, f"contacts[{i}].recorded_at", RejectReason.INVALID_TIMESTAMP, TIMESTAMP_DETAIL)
        choice = {}
        for name, allowed in (("relation", RELATIONS), ("source", CONTACT_SOURCES)):
            given = _text(contact.get(name))
            choice[name] = given.lower() if given is not None and given.lower() in allowed else None
            if given is not None and choice[name] is None:
                note(ignored, f"contacts[{i}].{name}", RejectReason.UNKNOWN_VALUE,
                     f"{name} must be one of: {', '.join(allowed)}")
        name = _text(contact.get("contact_name"))
        listed.append({"contact_phone": phone, "relation": choice["relation"] or "other",
                       "source": choice["source"], "contact_name": name,
                       "recorded_at": row["applied_at"] if at is None else at})
    stated = _text(application.get("consents"))
    row["consents"] = normalise.consent_one(stated, CONSENT_SCOPES)
    if stated is not None and row["consents"] is None:
        note(ignored, "consents", RejectReason.UNKNOWN_VALUE, CONSENT_DETAIL)
    content = [row["applicant_id"], row["applied_at"]] + [row[c] for c in sorted(row) if c.startswith("id:")]
    raw = [raws[k] for k in sorted(raws)] + [row["consents"]]
    row["digest"] = int(application_digest([np.array([v], dtype=object) for v in content],
                                           [np.array([v], dtype=object) for v in raw])[0])
    row.update({f"id:{k}": v for k, v in raws.items()})
    for derived, origin in DERIVED_KINDS.items():
        row[f"id:{derived}"] = normalise.subnet_one(row[f"id:{origin}"])
    return Prepared(row, listed, ignored)


def screen_forgotten(store: Store, prepared: Prepared, key: bytes) -> None:
    """Keep what erased people left out of an application (:mod:`graphsvc.people.erasure`):
    a forgotten value or contact is left out and reported in ``prepared.ignored``.

    Raises
    ------
    InvalidApplicationError
        When the applicant itself was erased.
    """
    application = prepared.application
    me = erasure.digest("applicant", prepared.applicant_id, key)
    held = {c: erasure.digest(c[3:], v, key) for c, v in application.items() if c.startswith("id:") and v is not None}
    listed = [erasure.digest("phone", c["contact_phone"], key) for c in prepared.contacts]
    expired = [erasure.contact_digest(prepared.applicant_id, c["contact_phone"], key) for c in prepared.contacts]
    gone = store.tombstoned([me, *held.values(), *listed, *expired])
    if not gone:
        return
    if me in gone:
        raise InvalidApplicationError([{"field": "applicant_id", "reason": str(RejectReason.FORGOTTEN),
                                        "detail": erasure.DETAIL}])
    for column, tombstone in held.items():
        if tombstone in gone:
            application[column] = None
            if column[3:] not in DERIVED_KINDS:
                shown = erasure.COLUMN_OF.get(column[3:], f"identifiers.{column[3:]}")
                prepared.ignored.append({"field": shown, "reason": str(RejectReason.FORGOTTEN),
                                         "detail": erasure.FIELD_DETAIL})
    kept = [c for c, number, listing in zip(prepared.contacts, listed, expired) if not {number, listing} & gone]
    if len(kept) < len(prepared.contacts):
        prepared.ignored.append({"field": "contacts.contact_phone", "reason": str(RejectReason.FORGOTTEN),
                                 "detail": f"{len(prepared.contacts) - len(kept)} contact(s): {erasure.FIELD_DETAIL}"})
        prepared.contacts[:] = kept


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
        raise _conflict(prepared)
    return outcome == "stored"


def check_application(store: Store, prepared: Prepared) -> None:
    """What a dry run checks without writing: raises ConflictError when the
    application id is stored with other content or other contacts."""
    if store.write_application(prepared.application, prepared.contacts, "dry-run", dry=True) == "conflict":
        raise _conflict(prepared)


def _conflict(prepared: Prepared) -> ConflictError:
    return ConflictError(f"application {prepared.application_id!r} is already stored with other content")
