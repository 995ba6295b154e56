"""Retention: applicants kept past their retention period are forgotten.

An applicant's retention period runs from its newest fact (application or
outcome, whichever is later); a contact link's from when it was last seen, by its
source (``contact_years``: address books 3 years by default). It is ``years`` by default, or the longest
``outcome_years`` entry among its outcomes (a lender keeps confirmed fraud and
defaults longer, for its legal obligations, and may keep repaid customers less
long). :func:`due` lists who is past it as of a date (:func:`due_contacts` the
contact links); :func:`apply` forgets each
of them exactly as ``graphsvc subject forget`` does (:mod:`graphsvc.people.erasure`:
removed from the store and every run's results, one audited transaction each,
tombstones so a reload does not bring them back) and reports what went.

The rules are versioned like the scoring policy: ``graphsvc retention apply
--rules FILE`` reads overrides from JSON, and every audit row names the rules'
version.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphsvc.errors import ConfigurationError, InputError
from graphsvc.ingest import normalise
from graphsvc.ingest.contract import CONTACT_SOURCES, OUTCOMES
from graphsvc.ingest.keys import model_digest
from graphsvc.people import erasure
from graphsvc.store.base import Store, access_entry

YEAR = 365.25 * 86_400
DUE_COLUMNS = ["applicant_id", "newest", "outcomes", "years", "expired"]


class RetentionRules(BaseModel):
    """How long applicants are kept after their newest fact (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: float = Field(5.0, gt=0)
    outcome_years: dict[str, float] = Field(default_factory=lambda: {"fraud": 10.0, "default": 7.0})
    # contact links by source (``unstated``: without one), kept this long after last seen
    contact_years: dict[str, float] = Field(default_factory=lambda: {"address_book": 3.0})

    @field_validator("contact_years")
    @classmethod
    def _known_sources(cls, value: dict[str, float]) -> dict[str, float]:
        return _periods(value, (*CONTACT_SOURCES, "unstated"), "contact sources")

    @field_validator("outcome_years")
    @classmethod
    def _known_outcomes(cls, value: dict[str, float]) -> dict[str, float]:
        return _periods(value, OUTCOMES, "outcomes")

    @property
    def version(self) -> str:
        return "retention-" + model_digest(self)

    @classmethod
    def from_file(cls, path: str | Path) -> RetentionRules:
        try:
            return cls.model_validate(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"retention rules {path}: {exc}") from exc


def _periods(value: dict[str, float], allowed: tuple[str, ...], what: str) -> dict[str, float]:
    """Retention periods by name: only ``allowed`` names, every period positive."""
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InputError(f"unknown {what} {unknown}; the {what} are {list(allowed)}")
    if any(v <= 0 for v in value.values()):
        raise InputError("retention periods must be positive")
    return value


def due(store: Store, rules: RetentionRules, as_of: int) -> pd.DataFrame:
    """Applicants past their retention period at ``as_of`` (epoch seconds), oldest
    first (:data:`DUE_COLUMNS`; ``newest`` and ``expired`` as ISO dates)."""
    arrays = store.graph_arrays()
    n = len(arrays.applicants)
    newest = np.full(n, -np.inf)
    np.maximum.at(newest, arrays.application_applicant, arrays.application_at.astype(float))
    dated = ~np.isnan(arrays.outcome_at)
    np.maximum.at(newest, arrays.outcome_applicant[dated], arrays.outcome_at[dated])
    longest = np.full(n, -np.inf)  # the longest period of an outcome each applicant has
    for outcome, period in rules.outcome_years.items():
        who = arrays.outcome_applicant[arrays.outcome == outcome]
        np.maximum.at(longest, who, period)
    years = np.where(np.isfinite(longest), longest, rules.years)
    expired = newest + years * YEAR
    past = np.flatnonzero(np.isfinite(newest) & (expired < as_of))
    past = past[np.argsort(newest[past], kind="stable")]
    theirs = np.isin(arrays.outcome_applicant, past)  # outcomes named in the answer only
    outcomes = (pd.DataFrame({"applicant": arrays.outcome_applicant[theirs], "outcome": arrays.outcome[theirs]})
                .groupby("applicant")["outcome"].agg(lambda o: ",".join(sorted(set(o)))))
    return pd.DataFrame({
        "applicant_id": arrays.applicants[past],
        "newest": [normalise.format_timestamp(v) for v in newest[past]],
        "outcomes": pd.Series([outcomes.get(i) for i in past], dtype=object),
        "years": years[past],
        "expired": [normalise.format_timestamp(v) for v in expired[past]],
    }, columns=DUE_COLUMNS)


def due_contacts(store: Store, rules: RetentionRules, as_of: int) -> pd.DataFrame:
    """Contact links past their source's period at ``as_of``: ``applicant_id, value,
    source, last_seen`` (ISO), oldest first."""
    parts = [store.stale_contacts(None if source == "unstated" else source, int(as_of - years * YEAR))
             .assign(source=source) for source, years in sorted(rules.contact_years.items())]
    found = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=["applicant_id", "value", "last_seen",
                                                                            "source"])], ignore_index=True)
    found["last_seen"] = [normalise.format_timestamp(v) for v in found["last_seen"]]
    return found[["applicant_id", "value", "source", "last_seen"]].reset_index(drop=True)


def apply_contacts(store: Store, rules: RetentionRules, as_of: int, key: bytes, *, caller: str) -> dict:
    """Remove the contact links :func:`due_contacts` lists, in one audited transaction
    with tombstones (the same listing loaded again is skipped); what was removed."""
    found = due_contacts(store, rules, as_of)
    if not len(found):
        return {"links": 0}
    plan = erasure.plan_contacts(store, list(zip(found["applicant_id"], found["value"])), key)
    entry = access_entry(caller, "admin", "graphsvc retention apply", "CLI", 200, sorted(set(found["applicant_id"])),
                         purpose=f"erasure: retention of contacts ({rules.version})")
    return store.forget_contacts(plan, entry)


def apply(store: Store, rules: RetentionRules, as_of: int, key: bytes, *, caller: str) -> pd.DataFrame:
    """Forget every applicant :func:`due` lists; the report has, per applicant, the
    label that now stands for it, its rule and what was removed."""
    found = due(store, rules, as_of)
    plans, entries = [], []
    for row in found.itertuples(index=False):
        reason = f"retention: {row.years:g} years after {row.newest} ({rules.version})"
        plans.append(erasure.plan(store, row.applicant_id, reason, key))
        entries.append(access_entry(caller, "admin", "graphsvc retention apply", "CLI", 200, [row.applicant_id],
                                    purpose=f"erasure: {reason}"))
    done = store.forget(plans, entries) if plans else []
    return pd.DataFrame([{"label": p.label, "newest": r.newest, "outcomes": r.outcomes, "years": r.years,
                          "identifiers": sum(p.summary()["identifiers_removed"].values()),
                          **{k.replace(" ", "_"): v for k, v in d.items()}}
                         for p, r, d in zip(plans, found.itertuples(index=False), done)])
