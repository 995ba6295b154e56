"""Lost-contact borrowers whose newer phone the graph can (or cannot) reveal.

Each chosen defaulter stops answering (outcome ``lost_contact``) and gets a new
phone. How that phone surfaces is the truth a skip-trace is scored against:

``own_device``
    A later application from the borrower's own device carries the new phone.
``same_identity``
    A later application under the borrower's identity number carries it.
``reverse_contact``
    A family member or friend later lists the new phone as the borrower's.
``unreachable``
    The new phone appears nowhere in the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphsvc.errors import InputError
from graphsvc.scenarios import identities as ids
from graphsvc.scenarios.draft import DAY, Draft, People, pick_weighted

ROUTES = ("own_device", "same_identity", "reverse_contact", "unreachable")
ROUTE_SHARE = np.array([0.3, 0.25, 0.25, 0.2])


def routes(lost: int) -> np.ndarray:
    """Exactly apportioned routes for ``lost`` borrowers (largest remainder)."""
    raw = ROUTE_SHARE * lost
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: lost - counts.sum()]] += 1
    return np.repeat(np.array(ROUTES), counts)


def build(rng: np.random.Generator, alloc: ids.Allocator, people: People, borrowers: np.ndarray,
          default_at: np.ndarray, accounts: np.ndarray, knowers: np.ndarray,
          nat_pool: np.ndarray, draft: Draft) -> pd.DataFrame:
    """Outcomes and later evidence for ``borrowers``; ``accounts`` are the new
    applicant records the account routes need (one each), ``knowers`` a person
    per borrower who may list the new phone."""
    n = len(borrowers)
    route = routes(n)
    lost_at = default_at + 30 * DAY
    old_phone = people.phone[borrowers].copy()
    new_phone = alloc.phones(n)
    later = lost_at + rng.integers(10 * DAY, 120 * DAY, n)
    draft.add_outcomes(borrowers, "lost_contact", lost_at)

    by_account = np.isin(route, ("own_device", "same_identity"))
    if by_account.sum() != len(accounts):
        raise InputError("one new account is needed per own_device/same_identity borrower")
    who = np.flatnonzero(by_account)
    device_route = route[who] == "own_device"
    people.name[accounts] = people.name[borrowers[who]]
    people.phone[accounts] = new_phone[who]
    device = np.where(device_route, draft.last_device(borrowers[who]), people.device[accounts])
    id_number = np.where(device_route, None, people.id_number[borrowers[who]])
    draft.add_applications(accounts, later[who], new_phone[who], device,
                           pick_weighted(rng, nat_pool, len(who), 0.8), id_number, "app")
    draft.add_contacts(accounts, alloc.phones(len(who)), "relative",
                       ids.names(rng, people.surname[accounts]), "emergency", later[who])

    reverse = np.flatnonzero(route == "reverse_contact")
    draft.add_contacts(knowers[reverse], new_phone[reverse],
                       rng.choice(["sibling", "friend", "relative"], len(reverse)),
                       people.name[borrowers[reverse]], "emergency", later[reverse])
    account_of = np.full(n, -1)
    account_of[who] = accounts
    return pd.DataFrame({
        "person": borrowers, "lost_at": lost_at, "old_phone": old_phone, "new_phone": new_phone,
        "route": route, "evidence_at": np.where(route == "unreachable", -1, later),
        "new_account": account_of, "knower": np.where(route == "reverse_contact", knowers, -1),
    })
