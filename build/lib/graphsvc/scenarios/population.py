"""The legitimate base population: households, carrier NAT, service numbers, churn.

Families share a home IP and sometimes a tablet; mobile users sit behind carrier
NAT addresses shared by thousands; popular 400 hotlines appear in many address
books; some applicants apply again later with a new phone or device. None of
this is fraud, and a good ring detector must not flag it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphsvc.scenarios import identities as ids
from graphsvc.scenarios.draft import DAY, SPAN_DAYS, START, Draft, People, pick_weighted


def households(rng: np.random.Generator, n: int) -> np.ndarray:
    """Household number of each of ``n`` people (sizes 1-4, mostly small)."""
    sizes = rng.choice([1, 2, 3, 4], size=n, p=[0.45, 0.30, 0.17, 0.08])
    return np.repeat(np.arange(n), sizes)[:n]


def build(rng: np.random.Generator, alloc: ids.Allocator, people: People, base: np.ndarray,
          nat_pool: np.ndarray, hotline_pool: np.ndarray, draft: Draft) -> pd.DataFrame:
    """Applications, contacts and outcomes of the base population.

    Returns per-person truth: household, sharing flags, first application time and
    the outcome drawn (used to pick lost-contact borrowers).
    """
    n = len(base)
    hh = households(rng, n)
    hh_size = np.bincount(hh)[hh]
    n_hh = hh.max() + 1
    home_ip = alloc.ips(n_hh)
    has_tablet = (np.bincount(hh) >= 2) & (rng.random(n_hh) < 0.25)
    tablet = np.where(has_tablet, ids.device_ids(rng, n_hh), None)
    # family members share a surname
    people.surname[base] = people.surname[base][np.searchsorted(hh, hh)]
    people.name[base] = ids.names(rng, people.surname[base])

    first_at = START + rng.integers(0, SPAN_DAYS * DAY, n)
    again = rng.random(n) < 0.15
    second_at = first_at[again] + rng.integers(30 * DAY, 400 * DAY, int(again.sum()))

    def application_ips(count: int, households_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at_home = rng.random(count) < 0.55
        ip = np.where(at_home, home_ip[households_], pick_weighted(rng, nat_pool, count, 0.8))
        return ip, at_home

    ip1, home1 = application_ips(n, hh)
    on_tablet1 = has_tablet[hh] & (rng.random(n) < 0.5)
    device1 = np.where(on_tablet1, tablet[hh], people.device[base])
    draft.add_applications(base, first_at, people.phone[base].copy(), device1, ip1,
                           people.id_number[base], "app")
    # second applications: some with a new phone (churn) or a new device
    repeaters = base[again]
    k = len(repeaters)
    new_phone = rng.random(k) < 0.3
    people.phone[repeaters[new_phone]] = alloc.phones(int(new_phone.sum()))
    new_device = rng.random(k) < 0.4
    people.device[repeaters[new_device]] = ids.device_ids(rng, int(new_device.sum()))
    ip2, home2 = application_ips(k, hh[again])
    draft.add_applications(repeaters, second_at, people.phone[repeaters].copy(), people.device[repeaters],
                           ip2, people.id_number[repeaters], "app")

    _contacts(rng, alloc, people, base, hh, first_at, hotline_pool, draft)

    draw = rng.random(n)
    outcome = np.select([draw < 0.002, draw < 0.052, draw < 0.6], ["fraud", "default", "repaid"], "")
    observed = first_at + rng.integers(60 * DAY, 240 * DAY, n)
    has = outcome != ""
    draft.add_outcomes(base[has], outcome[has], observed[has])

    home_sharers = np.bincount(hh, weights=home1.astype(float), minlength=n_hh)[hh] >= 2
    return pd.DataFrame({
        "person": base, "household": hh, "household_size": hh_size,
        "shares_home_ip": home1 & home_sharers, "shares_tablet": on_tablet1 & (hh_size >= 2),
        "nat_user": ~home1 | np.isin(base, repeaters[~home2]),
        "first_at": first_at, "outcome": outcome, "outcome_at": observed,
    })


def _contacts(rng, alloc: ids.Allocator, people: People, base: np.ndarray, hh: np.ndarray, at: np.ndarray,
              hotline_pool: np.ndarray, draft: Draft) -> None:
    n = len(base)
    # household members list each other (up to two each)
    order = np.argsort(hh, kind="stable")
    for offset in (1, 2):
        other = np.roll(order, -offset)
        same = hh[other] == hh[order]
        same &= other != order
        me, them = order[same], other[same]
        pair_size = np.bincount(hh)[hh[me]]
        relation = np.where(pair_size == 2, "spouse", np.where(rng.random(len(me)) < 0.5, "parent", "sibling"))
        draft.add_contacts(base[me], people.phone[base[them]], relation, people.name[base[them]],
                           "emergency", at[me])
    # friends and colleagues who also applied (social locality: nearby in the list)
    friends = rng.poisson(2.2, n)
    me = np.repeat(np.arange(n), friends)
    them = (me + rng.integers(-2000, 2000, len(me))) % n
    keep = them != me
    me, them = me[keep], them[keep]
    draft.add_contacts(base[me], people.phone[base[them]],
                       np.where(rng.random(len(me)) < 0.7, "friend", "colleague"),
                       people.name[base[them]],
                       np.where(rng.random(len(me)) < 0.3, "emergency", "address_book"), at[me])
    # relatives who never applied
    relatives = rng.poisson(1.0, n)
    me = np.repeat(np.arange(n), relatives)
    draft.add_contacts(base[me], alloc.phones(len(me)),
                       rng.choice(["parent", "relative", "sibling"], len(me)),
                       ids.names(rng, people.surname[base[me]]), "emergency", at[me])
    # popular service numbers
    lists = rng.random(n) < 0.35
    me = np.flatnonzero(lists)
    draft.add_contacts(base[me], pick_weighted(rng, hotline_pool, len(me), 1.0), "other",
                       "客服", "address_book", at[me])


def skewed(rng: np.random.Generator, alloc: ids.Allocator, people: People, base: np.ndarray, draft: Draft,
           hotline_pool: np.ndarray) -> pd.DataFrame:
    """A population of random skewed sharing and nothing else: devices, phones and IPs
    drawn from pools where a few values have thousands of holders and most have tens,
    applications spread over the two years, contacts listing random others. No
    households, no rings: nothing a ring detector should call a ring (another
    project's synthetic loan-application graph has this shape).

    Returns per-person truth as :func:`build` does (everyone a household of one).
    """
    n = len(base)
    first_at = START + rng.integers(0, SPAN_DAYS * DAY, n)
    devices = ids.device_ids(rng, max(2, n // 40))
    phones = alloc.phones(max(2, n // 60))
    ips = alloc.ips(max(2, n // 50))
    device = pick_weighted(rng, devices, n, 1.1)
    phone = pick_weighted(rng, phones, n, 1.1)
    ip = pick_weighted(rng, ips, n, 1.1)
    people.device[base], people.phone[base] = device, phone
    draft.add_applications(base, first_at, phone, device, ip, people.id_number[base], "app")
    listed = rng.poisson(1.5, n)
    me = np.repeat(np.arange(n), listed)
    them = rng.integers(0, n, len(me))
    keep = them != me
    me, them = me[keep], them[keep]
    draft.add_contacts(base[me], phone[them], np.where(rng.random(len(me)) < 0.7, "friend", "colleague"),
                       people.name[base[them]], "address_book", first_at[me])
    lists = rng.random(n) < 0.35
    draft.add_contacts(base[lists], pick_weighted(rng, hotline_pool, int(lists.sum()), 1.0), "other", "客服",
                       "address_book", first_at[lists])
    draw = rng.random(n)
    outcome = np.select([draw < 0.002, draw < 0.052, draw < 0.6], ["fraud", "default", "repaid"], "")
    observed = first_at + rng.integers(60 * DAY, 240 * DAY, n)
    has = outcome != ""
    draft.add_outcomes(base[has], outcome[has], observed[has])
    return pd.DataFrame({"person": base, "household": np.arange(n), "household_size": 1, "shares_home_ip": False,
                         "shares_tablet": False, "nat_user": False, "first_at": first_at, "outcome": outcome,
                         "outcome_at": observed})
