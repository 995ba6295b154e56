"""The data contract: canonical input tables, their columns and allowed values.

Six tables, loaded in this order so that references resolve within one load:

========================  =========================================================
table                     columns (required in bold in the docs)
========================  =========================================================
``applicants``            applicant_id, any other columns kept as properties
``applications``          application_id, applicant_id, applied_at, phone, device_id,
                          ip, id_number, consents, declared extra identifier kinds,
                          properties
``identifiers``           applicant_id, kind, value, observed_at
``contacts``              applicant_id, contact_phone, relation, contact_name,
                          source, recorded_at
``outcomes``              applicant_id, outcome, observed_at, phone
``relations``             src_applicant_id, dst_applicant_id, type, at, amount
========================  =========================================================

``applicants`` and ``identifiers`` extend the design's four tables for sources that
hold a customer register or identifier sightings outside applications (the P2P
dataset holds both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """Built-in identifier kinds; deployments may declare more (``card``, ``email``)."""

    PHONE = "phone"
    DEVICE = "device"
    IP = "ip"
    ID_NUMBER = "id_number"
    SUBNET = "subnet"  # derived: the IPv4 /24 or IPv6 /64 of an IP, linked beside it


#: kinds the loader derives from another kind's canonical value (never read from input,
#: never part of an application's content digest)
DERIVED_KINDS = {Kind.SUBNET: Kind.IP}


#: the kind an invalid value of a kind is kept as (:func:`graphsvc.ingest.normalise.raws`): the
#: same junk typed by several applicants links them, under its own rule of the policy
RAW_KINDS = {Kind.PHONE: "raw_phone", Kind.IP: "raw_ip", Kind.ID_NUMBER: "raw_id_number"}
#: kinds whose values are keyed HMAC tokens: never shown to anyone
TOKENISED = frozenset({str(Kind.ID_NUMBER), RAW_KINDS[Kind.ID_NUMBER]})
#: kinds whose values are phone numbers (or what was typed as one): masked like phones
PHONE_KINDS = frozenset({str(Kind.PHONE), RAW_KINDS[Kind.PHONE]})

#: application column holding each built-in identifier kind
APPLICATION_IDENTIFIER_COLUMNS = {
    "phone": Kind.PHONE,
    "device_id": Kind.DEVICE,
    "ip": Kind.IP,
    "id_number": Kind.ID_NUMBER,
}

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

RELATIONS = ("spouse", "parent", "sibling", "relative", "friend", "colleague", "other")
CONTACT_SOURCES = ("emergency", "address_book")
#: what an application's ``consents`` may grant: the use of the contact sources it names
#: under the consent rules (:mod:`graphsvc.people.consent`); ``none`` states that it grants none
CONSENT_SCOPES = ("address_book",)
OUTCOMES = ("fraud", "default", "repaid", "lost_contact", "contact_restored")


class LinkRole(StrEnum):
    """How an applicant is linked to an identifier."""

    OWN = "own"  # the applicant's own phone, device, IP, identity, card ...
    CONTACT = "contact"  # a phone the applicant listed as a contact


class RejectReason(StrEnum):
    """Why a row was rejected; the catalogue is documented in docs/loading.md."""

    MISSING_VALUE = "missing_value"
    INVALID_PHONE = "invalid_phone"
    INVALID_IP = "invalid_ip"
    INVALID_IDENTIFIER = "invalid_identifier"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_NUMBER = "invalid_number"
    UNKNOWN_VALUE = "unknown_value"
    UNKNOWN_KIND = "unknown_kind"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    FORGOTTEN = "forgotten"  # a value or applicant erased (graphsvc.people.erasure)


@dataclass(frozen=True)
class Table:
    """One canonical input table."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keeps_properties: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("applicants", ("applicant_id",), keeps_properties=True),
        Table(
            "applications",
            ("application_id", "applicant_id", "applied_at"),
            (*APPLICATION_IDENTIFIER_COLUMNS, "consents"),
            keeps_properties=True,
        ),
        Table("identifiers", ("applicant_id", "kind", "value"), ("observed_at",)),
        Table(
            "contacts",
            ("applicant_id", "contact_phone"),
            ("relation", "contact_name", "source", "recorded_at"),
            choices={"relation": RELATIONS, "source": CONTACT_SOURCES},
        ),
        Table(
            "outcomes",
            ("applicant_id", "outcome"),
            ("observed_at", "phone"),
            choices={"outcome": OUTCOMES},
        ),
        Table(
            "relations",
            ("src_applicant_id", "dst_applicant_id", "type"),
            ("at", "amount"),
        ),
    )
}

#: the order in which one load applies its tables
LOAD_ORDER = ("applicants", "applications", "identifiers", "contacts", "outcomes", "relations")
