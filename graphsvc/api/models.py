"""Request and response models of the HTTP API (the OpenAPI document's schemas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphsvc.ingest.contract import CONTACT_SOURCES, RELATIONS

Band = Literal["low", "review", "high"]
Text = Field(min_length=1, max_length=128)


#: an optional value: checked by the loader's rules, and left out (``ignored``) when invalid
OptionalValue = Field(None, max_length=1024)


class ContactIn(BaseModel):
    """A contact the applicant lists; one without a valid phone is ignored, not refused."""

    model_config = ConfigDict(extra="forbid")

    contact_phone: str | None = OptionalValue
    relation: str | None = Field(None, max_length=1024, description=f"one of {', '.join(RELATIONS)}; else other")
    contact_name: str | None = OptionalValue
    source: str | None = Field(None, max_length=1024, description=f"one of {', '.join(CONTACT_SOURCES)}")
    recorded_at: str | None = Field(None, max_length=1024, description="ISO 8601; default: applied_at")


class ApplicationIn(BaseModel):
    """One application as the data contract defines it, with its contacts. Only the
    key fields can refuse it; an invalid optional value is ignored and reported."""

    model_config = ConfigDict(extra="forbid")

    application_id: str = Text
    applicant_id: str = Text
    applied_at: str = Field(min_length=1, max_length=64, description="ISO 8601 date or timestamp")
    phone: str | None = OptionalValue
    device_id: str | None = OptionalValue
    ip: str | None = OptionalValue
    id_number: str | None = Field(None, max_length=1024, description="stored only as a keyed HMAC token")
    consents: str | None = Field(None, max_length=200, description=(
        "consent scopes the applicant granted with this application, e.g. address_book (or none): "
        "address-book contacts feed fraud linkage only with it (graphsvc.people.consent)"))
    identifiers: dict[str, str] = Field(default_factory=dict, max_length=32,
                                        description="declared identifier kinds: {kind: value}, e.g. email")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=200)


class Ignored(BaseModel):
    """An optional value left out of the stored application, and why."""

    field: str = Field(description="e.g. ip, contacts[2].contact_phone")
    reason: str = Field(description="the loader's rejection reason (docs/loading.md)")
    detail: str


class Reason(BaseModel):
    code: str
    points: int
    evidence: dict[str, Any]


class RingRef(BaseModel):
    ring_id: str
    risk: float | None = None
    size: int | None = None
    member: bool = Field(description="false: not a member in the run, but strongly linked to one (via)")
    via: str | None = None


class GroupOut(BaseModel):
    """The group the new applicant forms with others, as the batch would find it now."""

    size: int
    risk: float = Field(description="ring risk of the group (a ring at policy.min_ring_risk and above)")
    members: list[str] = Field(description="applicant ids, the first 50")
    features: dict[str, float | None] = Field(description="the batch's ring features; null: no evidence")
    truncated: bool = Field(description="growth stopped at the applicant cap or the time budget")


class Versions(BaseModel):
    run_id: str | None = Field(description="the re-score run the answer builds on (none before the first run)")
    policy_version: str
    consent_version: str = Field(description="the consent rules the answer used contacts under "
                                             "(graphsvc.people.consent)")
    model_id: str | None = Field(None, description="the fitted model of that run (none: the hand-set policy)")


class Neighbourhood(BaseModel):
    """What the answer read: identifiers fetched, hubs among them (counted, never expanded)
    and other applicants."""

    identifiers: int
    hubs: int
    applicants: int
    truncated: bool = Field(False, description="the walk stopped at its budget (policy.online_group_cap applicants "
                                               "or settings.score_budget_ms): the answer saw less than the batch "
                                               "would")


class PlainReason(BaseModel):
    code: str
    en: str = Field(description="what the reason means for the applicant, in English")
    zh: str = Field(description="the same in Chinese")


class DecisionOut(BaseModel):
    """The answer as an automated decision (PIPL art. 24)."""

    automated: bool = Field(description="always true: no person decided this score")
    statement: dict[str, str] = Field(description="that it is automated and may be reviewed by a person, en and zh")
    reasons: list[PlainReason]
    review: str = Field(description="where the person's request for human review is filed (POST)")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: str | None = Field(None, min_length=1, max_length=256, description="the decision asked about")
    reason: str | None = Field(None, max_length=2000, description="the person's words")


class ReviewClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "changed"]
    note: str = Field(min_length=3, max_length=2000, description="what the review found")

    @field_validator("note")
    @classmethod
    def _says_something(cls, note: str) -> str:  # the rule of decision.close: a 422 here, not a 400 there
        from graphsvc.people.decision import review_note

        review_note(note)
        return note


class ReviewOut(BaseModel):
    review_id: str
    applicant_id: str
    application_id: str | None
    requested_at: str
    requested_by: str
    reason: str | None
    status: Literal["open", "closed"]
    closed_at: str | None
    closed_by: str | None
    outcome: Literal["upheld", "changed"] | None
    note: str | None


class ReviewList(BaseModel):
    reviews: list[ReviewOut]


class ScoreOut(BaseModel):
    application_id: str
    applicant_id: str
    stored: bool = Field(description="false for a dry run or an application already stored")
    dry_run: bool
    score: int = Field(ge=0, le=1000)
    band: Band
    reasons: list[Reason]
    ring: RingRef | None
    group: GroupOut | None = Field(None, description="the applicant's group at ring size and above")
    versions: Versions
    neighbourhood: Neighbourhood
    ignored: list[Ignored] = Field(default_factory=list, description="invalid optional values left out")
    decision: DecisionOut
    scored_at: str


class LinkOut(BaseModel):
    kind: str
    value: str | None = Field(description="masked by role; identity tokens are never returned")
    role: str
    relation: str | None
    name: str | None = Field(description="contacts: the name given, masked by role")
    first_seen: str | None
    last_seen: str | None
    count: int


class TimelineEvent(BaseModel):
    at: str | None = Field(description="when: an application's time, or when an outcome was observed")
    event: str = Field(description="applied, or the outcome observed (fraud, default, ...)")


class ApplicantOut(BaseModel):
    applicant_id: str
    applications: int
    outcomes: list[str]
    score: int | None
    band: Band | None
    ring_id: str | None
    run_id: str | None
    reasons: list[Reason]
    identifiers: list[LinkOut]
    timeline: list[TimelineEvent] = Field(description="applications and outcomes, oldest first")


class HolderOut(BaseModel):
    applicant_id: str
    role: str
    relation: str | None
    first_seen: str | None
    last_seen: str | None
    count: int


class IdentifierOut(BaseModel):
    kind: str
    value: str | None
    degree: int
    hub: bool = Field(description="more holders than the kind's cap: holders are not listed")
    applicants: list[HolderOut]


class CyElement(BaseModel):
    data: dict[str, Any]


class CyElements(BaseModel):
    nodes: list[CyElement]
    edges: list[CyElement]


class NetworkOut(BaseModel):
    """Cytoscape.js elements JSON."""

    center: str
    truncated: bool
    consent_version: str = Field(description="the consent rules that chose which contacts are shown")
    elements: CyElements


class PathLink(BaseModel):
    kind: str
    value: str | None
    how: str = Field(description="shared (both hold it), listed (one lists the other's phone), or co-listed")


class PathStep(BaseModel):
    from_: str = Field(alias="from")
    to: str
    links: list[PathLink]

    model_config = ConfigDict(populate_by_name=True)


class PathsOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    found: bool
    hops: int | None
    steps: list[PathStep]
    truncated: bool

    model_config = ConfigDict(populate_by_name=True)


class RingOut(BaseModel):
    ring_id: str
    size: int
    risk: float
    fraud: int
    default: int
    features: dict[str, float | None] = Field(description="ring features; null where the ring has no evidence")
    typologies: list[str] = Field(description="what the ring looks like, named from its features "
                                              "(device_farm, agent, cross_listing, one_subnet, burst, "
                                              "shared_identifiers)")


class RingPage(BaseModel):
    run_id: str
    items: list[RingOut]
    next_cursor: str | None


class RingNetworkOut(BaseModel):
    """A ring as Cytoscape.js elements: its members and what at least two of them share."""

    ring_id: str
    run_id: str
    consent_version: str = Field(description="the consent rules that chose which contacts are shown")
    elements: CyElements


class CallerOut(BaseModel):
    name: str
    role: str
    routes: list[str] = Field(description="the operations (route names) this caller's role may use")


class MemberOut(BaseModel):
    applicant_id: str
    score: int | None
    band: Band | None


class RingDetail(RingOut):
    run_id: str
    members: list[MemberOut]


class ExplainOut(BaseModel):
    run_id: str
    applicant_id: str
    score: int
    band: Band
    ring_id: str | None
    reasons: list[Reason]
    consent_version: str = Field(description="the consent rules the run and its evidence used contacts under")


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str | None = Field(None, max_length=64)
    seed: int = Field(7, ge=0, le=2**31 - 1)
    promote: bool = Field(False, description="Serve the run even when it does not cover the store (an as-of in "
                                             "the past, fewer applicants); by default such a run is held.")

    @field_validator("as_of")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        """An as-of the service can read (else 422): ISO 8601, 1900-01-01 to 2100-12-31."""
        from graphsvc.ingest.normalise import parse_as_of
        from graphsvc.settings import get_settings

        parse_as_of(value, get_settings().timezone)
        return value


class JobOut(BaseModel):
    job_id: str
    status: Literal["running", "succeeded", "failed"]
    started_at: str
    finished_at: str | None = None
    run_id: str | None = None
    decision: Literal["promote", "hold"] | None = Field(
        None, description="Whether the run is served from now on (promote) or kept for reading by id (hold).")
    reason: str | None = None
    error: str | None = None


class Health(BaseModel):
    status: str


class SkiptraceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applicant_id: str = Text
    limit: int = Field(10, ge=1, le=50)


class Candidate(BaseModel):
    rank: int
    phone: str
    channel: Literal["own", "third_party"]
    evidence: str
    relation: str | None
    confidence: float
    seen: str | None
    usage: Literal["contact_borrower", "ask_for_borrower_only"] = Field(
        description="third parties may only be asked for a way to reach the borrower")
    via: str | None
    shown: Literal["full", "masked"] = Field(
        description="full: the borrower's own number, to a collector with a collections purpose (or an admin); "
                    "masked otherwise")
    reveal: str | None = Field(
        None, description="for a masked number: pass it to POST /v1/skiptrace/reveal to see the number (audited)")


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applicant_id: str = Field(min_length=1, max_length=256)
    reveal: str = Field(min_length=1, max_length=64, description="a candidate's reveal handle")


class RevealOut(BaseModel):
    applicant_id: str
    phone: str
    channel: Literal["own", "third_party"]
    relation: str | None
    usage: Literal["contact_borrower", "ask_for_borrower_only"]


class SkiptraceOut(BaseModel):
    applicant_id: str
    purpose: str
    consent_version: str = Field(description="the consent rules that chose which contacts could be used")
    candidates: list[Candidate]
