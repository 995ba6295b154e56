"""The scoring policy: every weight, cap and threshold the analytics use.

A run records its policy (and the policy's digest as ``policy_version``), so a
score can always be traced to the numbers that produced it. Defaults are
documented in ``docs/scoring.md``; override them with a JSON file
(``graphsvc rescore --policy FILE``) or in Python.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from graphsvc.errors import ConfigurationError
from graphsvc.ingest.keys import model_digest
from graphsvc.people.consent import ConsentRules


class KindRule(BaseModel):
    """How an identifier kind links the applicants who share it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(ge=0, le=1)  # link weight between two holders of a rare value
    hub: int = Field(ge=2)  # more holders than this: a hub, never traversed
    hub_verdict: str = "shared hub"
    hub_is_risk: bool = True  # holding one of its hubs is a reason (a farm device), or not (a NAT IP)
    burst: bool = False  # the weight also scales with how close in time the holders first used it
    # up to this many holders, one taken up in a burst (all within two velocity windows) is
    # no hub: it links at weight x burst, however many (an agent's phone, an office subnet)
    burst_hub: int | None = None
    # the share of its weight a link through this kind keeps when the two share no other own
    # identifier: an identity number alone is one person's stolen by another, not a bond
    alone: float = Field(1.0, ge=0, le=1)
    group: str | None = None  # kinds of one group link by the strongest of them, not their sum


class VelocityRule(BaseModel):
    """A velocity reason: how many others used one of the applicant's identifiers lately.

    The intensity is, over the family's feature prefixes (identifier kinds, or
    ``contact`` for co-listers of a number nobody owns, ``listed_by`` for
    those listing the applicant's phone, ``listing`` for owners of the numbers
    it lists), the largest ``_burst`` feature (or their sum, ``adds_up``): others
    who came in the last 7 days (those of the last day twice), weighted by the
    share of all others that came in the last 30 days (:mod:`graphsvc.analytics.features`).
    The reason's strength is ``strength * (1 - exp(-(intensity - allowance) / scale))``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefixes: tuple[str, ...]
    adds_up: bool = False  # the prefixes' intensities add up (else the largest counts)
    strength: float = Field(ge=0, le=1)
    allowance: float = Field(ge=0)  # this many recent others say nothing (a couple applying together)
    scale: float = Field(gt=0)


class Bands(BaseModel):
    """Score bands: ``review`` and ``high`` are the lowest scores of each band."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review: int = Field(400, ge=1, le=1000)
    high: int = Field(700, ge=1, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.review >= self.high:
            raise ValueError("bands.review must be below bands.high")
        return self

    def of(self, score: int) -> str:
        return "high" if score >= self.high else "review" if score >= self.review else "low"


_DEFAULT_KINDS = {
    "device": KindRule(weight=1.0, hub=50, hub_verdict="device farm"),
    "phone": KindRule(weight=1.0, hub=10, hub_verdict="shared phone"),
    "id_number": KindRule(weight=1.0, hub=5, hub_verdict="shared identity", alone=0.3),
    "ip": KindRule(weight=0.6, hub=30, hub_verdict="carrier NAT or proxy", hub_is_risk=False, group="network"),
    # an IPv4 /24 or IPv6 /64: weak alone, and only when its users came together in time
    "subnet": KindRule(weight=0.35, hub=60, hub_verdict="busy subnet", hub_is_risk=False, burst=True,
                       group="network", burst_hub=200),
    # invalid values kept as typed (graphsvc.ingest.contract.RAW_KINDS): the same junk typed by a
    # few applicants links them, but less than a real shared number; typed by many, it is a
    # placeholder ("0", "123456"), a hub that says nothing about its holders
    "raw_phone": KindRule(weight=0.6, hub=10, hub_verdict="common invalid phone", hub_is_risk=False),
    "raw_ip": KindRule(weight=0.3, hub=30, hub_verdict="common invalid IP", hub_is_risk=False, group="network"),
    "raw_id_number": KindRule(weight=0.6, hub=5, hub_verdict="common invalid identity number", hub_is_risk=False,
                              alone=0.3),
}


_DEFAULT_VELOCITY = {
    "device": VelocityRule(prefixes=("device",), strength=0.6, allowance=0, scale=1.5),
    # a busy carrier NAT address looks like a burst until it passes the feature cap: network
    # velocity alone never reaches review, it adds to the other families
    "network": VelocityRule(prefixes=("ip", "subnet"), strength=0.3, allowance=1, scale=3),
    "identity": VelocityRule(prefixes=("phone", "id_number"), strength=0.6, allowance=0, scale=1),
    "contact": VelocityRule(prefixes=("contact", "listed_by", "listing"), adds_up=True, strength=0.6,
                            allowance=1, scale=1.5),
    # applicants strongly linked to this one that applied in the last days: a group forming
    "group": VelocityRule(prefixes=("linked",), strength=0.45, allowance=0, scale=1.5),
}


class Policy(BaseModel):
    """Weights, hub caps, ring and score thresholds of a re-score run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[str, KindRule] = Field(default_factory=lambda: dict(_DEFAULT_KINDS))
    other_kind: KindRule = KindRule(weight=1.0, hub=50)  # declared extra kinds (cards ...)
    rarity_reference: int = Field(10, ge=2)  # holders up to this count link at full weight
    # a phone listed as a contact by several applicants (an agent's phone)
    shared_contact: KindRule = KindRule(weight=1.0, hub=40, hub_verdict="popular contact number", burst_hub=200)
    contact_link: float = Field(0.3, ge=0, le=1)  # A lists B's own phone, per direction
    contact_burst: float = Field(1.5, ge=1)  # ... that many times when both first applied within a window
    # applicant-applicant relations by type (money transfers, referrals ...), once per pair and type
    relation_weights: dict[str, float] = Field(default_factory=lambda: {"transfer": 0.3, "referral": 0.3})
    relation_default: float = Field(0.2, ge=0, le=1)  # any other type (relative, guarantee ...)
    contact_common: float = Field(0.15, ge=0, le=1)  # per contact both list (up to 3)
    strong_link: float = Field(0.5, gt=0)  # components run over links at least this strong
    refine_above: int = Field(60, ge=2)  # components larger than this are split by Leiden
    resolution: float = Field(0.1, gt=0)  # Leiden CPM resolution: least mean link weight in a ring
    leiden_iterations: int = Field(2, ge=1)  # passes of Leiden (bounded: a giant component costs seconds)
    gds_gamma: float = Field(1.0, gt=0)  # on Neo4j: GDS Leiden modularity resolution (GDS has no CPM)
    min_ring_size: int = Field(5, ge=2)
    min_ring_risk: float = Field(0.5, ge=0, le=1)  # groups below this risk are clusters, not rings
    ring_match: float = Field(0.5, gt=0, le=1)  # Jaccard overlap that keeps a previous ring id
    velocity_window_days: int = Field(14, ge=1)
    # features (graphsvc.analytics.features): identifiers linked to more applicants than this are
    # counted, not expanded (online scoring fetches no more of a neighbourhood)
    feature_cap: int = Field(200, ge=2)
    share_smoothing: float = Field(5.0, gt=0)  # pseudo-holders at the base rate in smoothed shares
    # velocity reasons by family (device, network, identity, contact, group); a declared kind
    # (cards, e-mails ...) counts once a family's prefixes name it
    velocity: dict[str, VelocityRule] = Field(default_factory=lambda: dict(_DEFAULT_VELOCITY))
    # online: applicants fetched at most while growing a new applicant's group
    online_group_cap: int = Field(300, ge=10)
    restart: float = Field(0.3, gt=0, lt=1)  # personalised PageRank restart probability
    # Proximity uses the lift of propagated risk: an applicant's PageRank mass over the
    # average applicant's. Lift 1 + scale gives 63% of the reason's strength.
    proximity_scale: float = Field(10.0, gt=0)
    default_proximity_scale: float = Field(3.0, gt=0)  # defaults are far commoner, so lifts are lower
    bands: Bands = Bands()
    # which purposes may use contacts from which sources (graphsvc.people.consent)
    consent: ConsentRules = ConsentRules()

    def rule(self, kind: str) -> KindRule:
        return self.kinds.get(kind, self.other_kind)

    @cached_property
    def version(self) -> str:
        """A short digest of the policy: equal policies have equal versions (computed once:
        a policy is frozen)."""
        return model_digest(self)

    def relation_weight(self, kind: str) -> float:
        """The link weight of a relation type: its ``relation_weights`` entry, else
        ``relation_default`` (a type the policy does not name still links)."""
        return self.relation_weights.get(kind, self.relation_default)

    @classmethod
    def overrides(cls, changes: dict) -> Policy:
        """The default policy with ``changes`` merged in, field by field and kind by
        kind: ``{"kinds": {"device": {"hub": 80}}}`` changes the device hub cap only."""
        return cls.model_validate(_merge(cls().model_dump(mode="json"), changes))

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Read policy overrides from JSON (only the fields that differ from the
        defaults, merged as :meth:`overrides` does)."""
        try:
            changes = json.loads(Path(path).read_text())
            if not isinstance(changes, dict):
                raise ValueError("a policy file holds one JSON object")
            return cls.overrides(changes)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"policy {path}: {exc}") from exc


def _merge(base, changes):
    """``changes`` over ``base``, recursing into objects (lists and values replace)."""
    if not isinstance(base, dict) or not isinstance(changes, dict):
        return changes
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(base[key], value) if key in base else value
    return out
