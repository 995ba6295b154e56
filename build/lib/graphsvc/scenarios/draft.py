"""The tables a scenario is built into, before they are spelled and written."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAY = 86_400
START = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
SPAN_DAYS = 730


@dataclass
class People:
    """Per-person attributes, indexed 0..n-1."""

    applicant_id: np.ndarray
    phone: np.ndarray  # current own mobile (int)
    device: np.ndarray
    id_number: np.ndarray
    name: np.ndarray
    surname: np.ndarray


@dataclass
class Draft:
    """Rows accumulated as column dicts of numpy arrays, concatenated at the end."""

    applications: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)

    def add_applications(self, person, applied_at, phone, device, ip, id_number, channel) -> None:
        self.applications.append(dict(person=person, applied_at=applied_at, phone=phone, device=device,
                                      ip=ip, id_number=id_number, channel=channel))

    def add_contacts(self, person, phone, relation, name, source, recorded_at) -> None:
        n = len(person)
        self.contacts.append(dict(
            person=person, phone=phone, relation=_full(relation, n), name=_full(name, n),
            source=_full(source, n), recorded_at=recorded_at))

    def add_outcomes(self, person, outcome, observed_at) -> None:
        self.outcomes.append(dict(person=person, outcome=_full(outcome, len(person)), observed_at=observed_at))

    def last_device(self, person: np.ndarray) -> np.ndarray:
        """The device of each person's latest application drafted so far (a family
        tablet, when that is what they applied on)."""
        apps = self.frame(self.applications)[["person", "applied_at", "device"]]
        latest = apps.sort_values("applied_at", kind="stable").drop_duplicates("person", keep="last")
        return latest.set_index("person")["device"].reindex(person).to_numpy()

    @staticmethod
    def frame(parts: list[dict]) -> pd.DataFrame:
        return pd.concat([pd.DataFrame(p) for p in parts if len(next(iter(p.values())))], ignore_index=True)


def _full(value, n: int) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.full(n, value, dtype=object)


def pick_weighted(rng: np.random.Generator, pool: np.ndarray, n: int, exponent: float) -> np.ndarray:
    """Draw from ``pool`` with Zipf-like weights (a few items take most draws)."""
    weights = 1.0 / np.arange(1, len(pool) + 1) ** exponent
    return pool[rng.choice(len(pool), size=n, p=weights / weights.sum())]
