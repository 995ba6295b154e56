"""Synthetic lending scenarios with known truth (``graphsvc generate``).

A realistic base population (:mod:`.population`), planted fraud rings
(:mod:`.rings`) and lost-contact borrowers (:mod:`.lost_contact`), written as the
canonical contract tables plus truth tables. Deterministic for a seed.

Files written to the output folder (Parquet, or CSV with ``fmt="csv"``):
``applications``, ``contacts``, ``outcomes`` (the contract tables),
``truth_applicants`` (ring membership and legitimate sharing per applicant),
``truth_lost_contact`` (each lost borrower's new phone and how it surfaces) and
``truth.json`` (parameters and counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.errors import InputError
from graphsvc.scenarios import identities as ids
from graphsvc.scenarios import lost_contact, population, rings
from graphsvc.scenarios.draft import Draft, People

TABLE_FILES = ("applications", "contacts", "outcomes")


@dataclass(frozen=True)
class Scenario:
    """Parameters of a generated scenario."""

    applicants: int
    seed: int = 0
    ring_share: float = 0.02  # share of applicants who are ring members
    ring_fraud_rate: float = 0.3  # share of ring members with a fraud outcome
    lost_share: float = 0.016  # share of applicants who are lost-contact borrowers
    dirty_share: float = 0.001  # share of contact rows with an unusable phone
    population: str = "households"  # or "skewed": random skewed sharing, no households (population.skewed)


def generate(scenario: Scenario, out: Path, fmt: str = "parquet") -> dict:
    """Generate ``scenario`` into ``out``; returns the summary written to truth.json."""
    if scenario.applicants < 50:
        raise InputError("a scenario needs at least 50 applicants")
    if scenario.population not in ("households", "skewed"):
        raise InputError("population must be households or skewed")
    if fmt not in ("parquet", "csv"):
        raise InputError("fmt must be parquet or csv")
    rng = np.random.default_rng(scenario.seed)
    n = scenario.applicants
    n_ring = int(round(n * scenario.ring_share))
    n_lost = int(round(n * scenario.lost_share))
    routes = lost_contact.routes(n_lost)
    n_accounts = int(np.isin(routes, ("own_device", "same_identity")).sum())
    n_base = n - n_ring - n_accounts
    base = np.arange(n_base)
    members = np.arange(n_base, n_base + n_ring)
    accounts = np.arange(n_base + n_ring, n)

    alloc = ids.Allocator(rng, n)
    surname = rng.integers(0, len(ids.SURNAMES), n)
    people = People(
        applicant_id=np.char.add("A", np.char.zfill((rng.permutation(n) + 1).astype(str), 8)).astype(object),
        phone=alloc.phones(n).copy(), device=ids.device_ids(rng, n), id_number=ids.identity_numbers(rng, n),
        name=ids.names(rng, surname), surname=surname,
    )
    nat_pool = alloc.ips(max(4, n // 4000))
    hotline_pool = ids.hotlines(rng, 40)
    draft = Draft()

    if scenario.population == "skewed":
        base_truth = population.skewed(rng, alloc, people, base, draft, hotline_pool)
    else:
        base_truth = population.build(rng, alloc, people, base, nat_pool, hotline_pool, draft)
    ring_truth = rings.build(rng, alloc, people, members, nat_pool, scenario.ring_fraud_rate, draft, victims=base)
    defaulters = base_truth[base_truth["outcome"] == "default"]
    borrowers = defaulters.sample(n=min(n_lost, len(defaulters)), random_state=rng.integers(2**31))
    if len(borrowers) < n_lost:
        raise InputError(f"only {len(defaulters)} defaulters for {n_lost} lost-contact borrowers; "
                         "use more applicants")
    knowers = _knowers(rng, base_truth, borrowers["person"].to_numpy())
    lost_truth = lost_contact.build(rng, alloc, people, borrowers["person"].to_numpy(),
                                    borrowers["outcome_at"].to_numpy(), accounts, knowers, nat_pool, draft)

    tables = _spell(rng, people, draft, scenario.dirty_share)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        _write(frame, out / f"{name}.{fmt}", fmt)
    truth_applicants = _truth_applicants(people, base_truth, ring_truth)
    _write(truth_applicants, out / f"truth_applicants.{fmt}", fmt)
    _write(_truth_lost(people, lost_truth), out / f"truth_lost_contact.{fmt}", fmt)
    summary = {
        "scenario": scenario.__dict__, "format": fmt,
        "rows": {name: len(frame) for name, frame in tables.items()},
        "applicants": int(tables["applications"]["applicant_id"].nunique()),
        "ring_members": len(ring_truth), "rings": int(ring_truth["ring_id"].nunique()),
        "rings_by_kind": ring_truth.drop_duplicates("ring_id")["ring_kind"].value_counts().to_dict(),
        "lost_contact": lost_truth["route"].value_counts().to_dict(),
        "dirty_contact_rows": int(tables["contacts"].attrs.get("dirty", 0)),
    }
    (out / "truth.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


def _knowers(rng: np.random.Generator, base_truth: pd.DataFrame, borrowers: np.ndarray) -> np.ndarray:
    """A household member of each borrower where there is one, else another applicant."""
    by_household = base_truth.sort_values(["household", "person"])
    members = by_household.groupby("household")["person"].agg(list)
    household = base_truth.set_index("person")["household"]
    out = []
    for person in borrowers:
        others = [p for p in members[household[person]] if p != person]
        out.append(others[0] if others else int(rng.choice(base_truth["person"].to_numpy())))
    return np.array(out, dtype=np.int64)


def _spell(rng: np.random.Generator, people: People, draft: Draft, dirty_share: float) -> dict[str, pd.DataFrame]:
    apps = Draft.frame(draft.applications).sort_values(["applied_at", "person"], kind="stable")
    ip = apps["ip"].to_numpy(np.int64)
    ip_text = ids.spell_ipv4(ip)
    mapped = rng.random(len(ip)) < 0.02
    ip_text[mapped] = np.char.add("::ffff:", ip_text[mapped].astype(str)).astype(object)
    applications = pd.DataFrame({
        "application_id": np.char.add("AP", np.char.zfill(np.arange(1, len(apps) + 1).astype(str), 9)).astype(object),
        "applicant_id": people.applicant_id[apps["person"].to_numpy()],
        "applied_at": ids.iso_local(apps["applied_at"].to_numpy()),
        "phone": ids.spell_phones(rng, apps["phone"].to_numpy(np.int64)),
        "device_id": apps["device"].to_numpy(object),
        "ip": ip_text,
        "id_number": apps["id_number"].to_numpy(object),
        "channel": apps["channel"].to_numpy(object),
        "loan_amount": (rng.integers(5, 200, len(apps)) * 100).astype(np.int64),
        # most applicants let the lender use their address book, some refuse (the same
        # answer on each of their applications; drawn from the person, not the generator's
        # stream, so the rest of a scenario is as it was)
        "consents": np.where(_consenting(apps["person"].to_numpy(np.int64)), "address_book", "none").astype(object),
    })
    cons = Draft.frame(draft.contacts).sort_values(["recorded_at", "person"], kind="stable")
    contact_phone = ids.spell_phones(rng, cons["phone"].to_numpy(np.int64))
    dirty = rng.random(len(cons)) < dirty_share
    contact_phone[dirty] = "12345"
    contacts = pd.DataFrame({
        "applicant_id": people.applicant_id[cons["person"].to_numpy()],
        "contact_phone": contact_phone,
        "relation": cons["relation"].to_numpy(object),
        "contact_name": cons["name"].to_numpy(object),
        "source": cons["source"].to_numpy(object),
        "recorded_at": ids.iso_local(cons["recorded_at"].to_numpy()),
    })
    contacts.attrs["dirty"] = int(dirty.sum())
    outs = Draft.frame(draft.outcomes).sort_values(["observed_at", "person"], kind="stable")
    outcomes = pd.DataFrame({
        "applicant_id": people.applicant_id[outs["person"].to_numpy()],
        "outcome": outs["outcome"].to_numpy(object),
        "observed_at": ids.iso_local(outs["observed_at"].to_numpy()),
    })
    return {"applications": applications, "contacts": contacts, "outcomes": outcomes}


def _consenting(person: np.ndarray, share: float = 0.85) -> np.ndarray:
    """Whether each person grants the use of their address book (a fixed share, by a
    multiplicative hash of the person's number)."""
    return (person * 2654435761) % 1000 < share * 1000


def _truth_applicants(people: People, base_truth: pd.DataFrame, ring_truth: pd.DataFrame) -> pd.DataFrame:
    n = len(people.applicant_id)
    frame = pd.DataFrame({"applicant_id": people.applicant_id, "ring_id": None, "ring_kind": None,
                          "household_id": -1, "household_size": 1, "shares_home_ip": False,
                          "shares_tablet": False, "nat_user": False}, index=np.arange(n))
    b = base_truth.set_index("person")
    frame.loc[b.index, "household_id"] = b["household"].to_numpy()
    frame.loc[b.index, "household_size"] = b["household_size"].to_numpy()
    frame.loc[b.index, "shares_home_ip"] = b["shares_home_ip"].to_numpy()
    frame.loc[b.index, "shares_tablet"] = b["shares_tablet"].to_numpy()
    frame.loc[b.index, "nat_user"] = b["nat_user"].to_numpy()
    r = ring_truth.set_index("person")
    frame.loc[r.index, "ring_id"] = r["ring_id"].to_numpy()
    frame.loc[r.index, "ring_kind"] = r["ring_kind"].to_numpy()
    return frame.astype({"household_id": np.int64, "household_size": np.int64, "shares_home_ip": bool,
                         "shares_tablet": bool, "nat_user": bool}).sort_values("applicant_id").reset_index(drop=True)


def _truth_lost(people: People, lost: pd.DataFrame) -> pd.DataFrame:
    def who(index: np.ndarray) -> np.ndarray:
        return np.where(index >= 0, people.applicant_id[np.maximum(index, 0)], None)

    return pd.DataFrame({
        "applicant_id": people.applicant_id[lost["person"].to_numpy()],
        "lost_at": ids.iso_local(lost["lost_at"].to_numpy()),
        "old_phone": ids.e164(lost["old_phone"].to_numpy()),
        "new_phone": ids.e164(lost["new_phone"].to_numpy()),
        "route": lost["route"].to_numpy(object),
        "evidence_at": np.where(lost["evidence_at"].to_numpy() >= 0,
                                ids.iso_local(np.maximum(lost["evidence_at"].to_numpy(), 0)), None),
        "new_account_applicant_id": who(lost["new_account"].to_numpy()),
        "knower_applicant_id": who(lost["knower"].to_numpy()),
    })


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
