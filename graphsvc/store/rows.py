"""The rows a store returns that are not frames, named: what score-on-write and the
look-ups read one at a time, on the hot path, where a frame would cost more than it
gives. Each is a tuple (so it unpacks as one) whose fields say what they hold.
"""

from __future__ import annotations

from typing import NamedTuple


class NeighbourRow(NamedTuple):
    """One row of :meth:`~graphsvc.store.reading.StoreReader.neighbourhood`: a link of an
    identifier of the neighbourhood, or (``holder`` None) a hub counted, not fetched."""

    kind: str
    value: str
    degree: int  # distinct holders, counted up to the cap + 1
    holder: str | None  # applicant_id
    role: str | None  # own or contact
    relation: str | None
    first_seen: float | None  # epoch seconds
    source: str | None  # contact source
    consents: str | None  # the holder's stated consents


class OutcomeEvent(NamedTuple):
    """An outcome of an applicant (epoch seconds, None when undated)."""

    applicant_id: str
    outcome: str
    observed_at: int | None


class ApplicationEvent(NamedTuple):
    """An application of an applicant (epoch seconds, None when undated)."""

    applicant_id: str
    applied_at: int | None


class ApplicantOutcome(NamedTuple):
    """One of an applicant's outcomes, with the phone it was recorded on."""

    outcome: str
    observed_at: int | None
    phone: str | None


class RunScore(NamedTuple):
    """An applicant's row of a run's scores, with its ring's risk and size (None outside rings)."""

    score: int
    band: str
    ring_id: str | None
    reasons: str | None  # JSON
    ring_risk: float | None
    ring_size: int | None
