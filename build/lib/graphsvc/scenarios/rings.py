"""Planted fraud rings, each kind with the signature investigators know.

``device_farm``
    Many applicants, few devices; applications in a burst through proxies or NAT.
``synthetic``
    Fabricated identities whose contact lists point at each other.
``packaging``
    Intermediary packaging: one agent phone (not an applicant) is everyone's
    emergency contact; applications in a burst from one /24 subnet.
``agent``
    The harder intermediary: an agent files 20 to 60 clients within three weeks,
    every client lists the agent's phone, the applications come from one /24 on
    different hosts, and only about a third use one of the agent's two devices.
``identity_theft``
    A crew applies under identities stolen from real applicants (their identity
    numbers), on a few phones and devices of its own, within two weeks.
``mixed``
    A few shared devices, cross-listed contacts and an agent phone for some.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphsvc.scenarios import identities as ids
from graphsvc.scenarios.draft import DAY, SPAN_DAYS, START, Draft, People, pick_weighted

KINDS = ("device_farm", "synthetic", "packaging", "agent", "identity_theft", "mixed")
_KIND_SHARE = [0.22, 0.2, 0.18, 0.14, 0.14, 0.12]
_SIZES = {"device_farm": (8, 40), "synthetic": (5, 15), "packaging": (10, 30), "agent": (20, 60),
          "identity_theft": (6, 20), "mixed": (8, 25)}


def plan(rng: np.random.Generator, members: int) -> list[tuple[str, int]]:
    """Ring kinds and sizes adding up to exactly ``members`` people."""
    rings: list[tuple[str, int]] = []
    left = members
    while left > 0:
        kind = KINDS[rng.choice(len(KINDS), p=_KIND_SHARE)]
        low, high = _SIZES[kind]
        size = int(rng.integers(low, high + 1))
        if left - size < 5:
            size = left
        rings.append((kind, size))
        left -= size
    return rings


def build(rng: np.random.Generator, alloc: ids.Allocator, people: People, members: np.ndarray,
          nat_pool: np.ndarray, fraud_rate: float, draft: Draft, victims: np.ndarray) -> pd.DataFrame:
    """Applications, contacts and outcomes of ring members; returns ring truth.
    ``victims``: people whose identities a theft ring may use (each once)."""
    truth = []
    start = 0
    unused = rng.permutation(victims)
    for number, (kind, size) in enumerate(plan(rng, len(members)), start=1):
        ring = members[start:start + size]
        start += size
        ring_id = f"R{number:05d}"
        if kind == "identity_theft":
            stolen, unused = unused[:size], unused[size:]
            people.id_number[ring[:len(stolen)]] = people.id_number[stolen]
        _ring(rng, alloc, people, ring, kind, nat_pool, fraud_rate, draft)
        truth.append(pd.DataFrame({"person": ring, "ring_id": ring_id, "ring_kind": kind}))
    columns = ["person", "ring_id", "ring_kind"]
    return pd.concat(truth, ignore_index=True) if truth else pd.DataFrame(columns=columns)


def _ring(rng, alloc: ids.Allocator, people: People, ring: np.ndarray, kind: str,
          nat_pool: np.ndarray, fraud_rate: float, draft: Draft) -> None:
    size = len(ring)
    burst_start = START + int(rng.integers(0, (SPAN_DAYS - 30) * DAY))
    window = (21 if kind == "agent" else 14 if kind == "identity_theft" else int(rng.integers(1, 11))) * DAY
    applied = burst_start + rng.integers(0, window, size)
    device = people.device[ring]
    phone = people.phone[ring].copy()
    if kind in ("device_farm", "mixed"):
        pool = ids.device_ids(rng, max(1, size // 8) if kind == "device_farm" else int(rng.integers(2, 4)))
        device = pool[rng.integers(0, len(pool), size)]
    if kind == "agent":  # a third on one of the agent's two devices
        agents = ids.device_ids(rng, 2)
        on_agent = rng.random(size) < 1 / 3
        device = np.where(on_agent, agents[rng.integers(0, 2, size)], device)
    if kind == "identity_theft":  # the crew's own few phones and devices
        phones, devices = alloc.phones(max(2, size // 3)), ids.device_ids(rng, max(2, size // 4))
        phone = phones[rng.integers(0, len(phones), size)]
        device = devices[rng.integers(0, len(devices), size)]
    if kind in ("packaging", "agent"):
        subnet = alloc.ips(1)[0] & ~0xFF
        hosts = (rng.choice(np.arange(1, 255), size=size, replace=False) if kind == "agent"  # different hosts
                 else rng.integers(1, 255, size))
        ip = subnet + hosts
    elif kind == "device_farm":
        proxies = alloc.ips(2)
        ip = np.where(rng.random(size) < 0.5, proxies[rng.integers(0, 2, size)],
                      pick_weighted(rng, nat_pool, size, 0.8))
    else:
        ip = np.where(rng.random(size) < 0.5, alloc.ips(size), pick_weighted(rng, nat_pool, size, 0.8))
    draft.add_applications(ring, applied, phone, device, ip, people.id_number[ring], "app")

    if kind in ("synthetic", "mixed"):
        per_member = rng.integers(2, 5 if kind == "synthetic" else 3, size)
        me = np.repeat(np.arange(size), per_member)
        them = (me + rng.integers(1, size, len(me))) % size
        draft.add_contacts(ring[me], people.phone[ring[them]],
                           rng.choice(["friend", "relative", "spouse", "colleague"], len(me)),
                           people.name[ring[them]], "emergency", applied[me])
    if kind in ("packaging", "agent", "mixed"):
        agent = alloc.phones(1)[0]
        listed = np.ones(size, dtype=bool) if kind != "mixed" else rng.random(size) < 0.5
        me = np.flatnonzero(listed)
        draft.add_contacts(ring[me], np.full(len(me), agent),
                           rng.choice(["relative", "friend", "other"], len(me)),
                           ids.names(rng, rng.integers(0, len(ids.SURNAMES), len(me))),
                           "emergency", applied[me])
    # fabricated references who never apply
    me = np.repeat(np.arange(size), 1 if kind != "device_farm" else 2)
    draft.add_contacts(ring[me], alloc.phones(len(me)), rng.choice(["parent", "relative"], len(me)),
                       ids.names(rng, people.surname[ring[me]]), "emergency", applied[me])

    draw = rng.random(size)
    outcome = np.select([draw < fraud_rate, draw < fraud_rate + 0.4], ["fraud", "default"], "")
    observed = applied + rng.integers(30 * DAY, 120 * DAY, size)
    has = outcome != ""
    draft.add_outcomes(ring[has], outcome[has], observed[has])
