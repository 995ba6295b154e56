"""One applicant's feature row, counted in plain Python: score-on-write's features.

:func:`graphsvc.analytics.features.compute` counts for whole batches with numpy; for
one applicant of a neighbourhood (tens of links) its hundreds of array calls cost
more than the counting. :func:`row` gives the same table for that one row (every
column, the same float32 values, the same :class:`~graphsvc.analytics.feature_table.Rows`)
by walking the links of the applicant's own identifiers only. ``compute`` takes
this path by itself for one row of a small projection; ``tests/test_feature_row.py``
holds the two to equality on every applicant of generated graphs.

The counts are those of ``compute`` (see its module for what each column means):
links known by the scoring time in the same integer ticks, the applicant's own link
left out, hubs counted and not expanded.
"""

from __future__ import annotations

import math

import numpy as np

from graphsvc.analytics.feature_table import _OFFSET, DAY, WINDOWS, Features, Rows
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection

INF = math.inf


def _tick(seconds: float) -> int:
    """:func:`~graphsvc.analytics.feature_table.ticks` of one time."""
    if seconds != seconds:
        seconds = -INF
    return int(min(max(seconds, -_OFFSET), _OFFSET - 1) + _OFFSET)


def _upto(ticks: list[int], limit: int) -> int:
    return sum(1 for t in ticks if t <= limit)


class _Identifier:
    """Everyone's links to one identifier: the times each counter counts, as ticks."""

    __slots__ = ("own", "own_fraud", "own_default", "contact", "contact_fraud", "anyone")

    def __init__(self) -> None:
        self.own: list[int] = []
        self.own_fraud: list[int] = []
        self.own_default: list[int] = []
        self.contact: list[int] = []
        self.contact_fraud: list[int] = []
        self.anyone: dict[int, float] = {}  # applicant -> earliest link of any role


def row(projection: Projection, policy: Policy, position: int, at: float, prior: tuple[float, float],
        fraud_at: np.ndarray, default_at: np.ndarray, store=None) -> Features:
    """The feature table of the one applicant at ``position``, scored at ``at``, with its
    :class:`Rows` (``compute``'s answer for ``positions=[position]`` and ``keep_rows``)."""
    arrays = projection.arrays
    p, t = int(position), float(at)
    fraud_prior, default_prior = prior
    cap, smooth = policy.feature_cap, policy.share_smoothing

    # the links, one per (applicant, identifier, role) with its earliest time (LinkTimes)
    earliest: dict[tuple[int, int, bool], float] = {}
    for a, j, c, s in zip(arrays.link_applicant.tolist(), arrays.link_identifier.tolist(),
                          arrays.link_contact.tolist(), arrays.link_first_seen.tolist()):
        s = -INF if s != s else s
        key = (a, j, c)
        if key not in earliest or s < earliest[key]:
            earliest[key] = s
    mine = sorted((j, c, s) for (a, j, c), s in earliest.items() if a == p and s <= t)
    wanted = {j for j, _, _ in mine}
    fraud_of, default_of = fraud_at.tolist(), default_at.tolist()
    counted = None if arrays.identifier_degree is None else arrays.identifier_degree.tolist()
    on: dict[int, _Identifier] = {j: _Identifier() for j in wanted}
    for (a, j, c), s in earliest.items():
        if j not in wanted:
            continue
        entry = on[j]
        if c:
            entry.contact.append(_tick(s))
            entry.contact_fraud.append(_tick(max(s, fraud_of[a])))
        else:
            entry.own.append(_tick(s))
            entry.own_fraud.append(_tick(max(s, fraud_of[a])))
            entry.own_default.append(_tick(max(s, default_of[a])))
        entry.anyone[a] = min(s, entry.anyone.get(a, INF))
    own_seen = {j: s for j, c, s in mine if not c}  # when the applicant's own link to j came
    listed_seen = {j: s for j, c, s in mine if c}

    now = _tick(t)
    since = {w: t - w * DAY for w in WINDOWS}
    since_tick = {w: _tick(v) for w, v in since.items()}
    service = projection.service_numbers(store)
    kinds = arrays.kinds
    phone = kinds.index("phone") if "phone" in kinds else -1
    kind_of = arrays.identifier_kind

    def counts(ticks: list[int], calm: bool, self_seen: float, self_outcome: float | None = None,
               windows: tuple[int, ...] = ()) -> tuple[int, dict[int, int]]:
        """``compute``'s ``counts`` for one link: known by now less the applicant's own,
        and of them those first seen in each window; 0 on a hub."""
        if not calm:
            return 0, {w: 0 for w in windows}
        upto = _upto(ticks, now)
        known_self = self_seen <= t if self_outcome is None else max(self_seen, self_outcome) <= t
        recent = {w: upto - _upto(ticks, since_tick[w]) - (self_seen <= t and self_seen > since[w])
                  for w in windows}
        return upto - known_self, recent

    links = []  # per row link: j, c, hub, holders, fraud, default, listers, lister fraud, recents
    for j, c, s in mine:
        entry = on[j]
        degree = sum(1 for v in entry.anyone.values() if _tick(v) <= now)
        if counted is not None:
            degree = max(degree, counted[j])
        hub = degree > cap or bool(service[j])
        calm = not hub
        zero = {w: 0 for w in WINDOWS}
        holders, fraud, default, listers, lister_fraud = 0, 0, 0, 0, 0
        holder_recent, lister_recent = zero, zero
        if not c:
            holders, holder_recent = counts(entry.own, calm, s, windows=WINDOWS)
            fraud = counts(entry.own_fraud, calm, s, fraud_of[p])[0]
            default = counts(entry.own_default, calm, s, default_of[p])[0]
            if kind_of[j] == phone:
                self_listed = listed_seen.get(j, INF)
                listers, lister_recent = counts(entry.contact, calm, self_listed, windows=WINDOWS)
                lister_fraud = counts(entry.contact_fraud, calm, self_listed, fraud_of[p])[0]
        else:
            self_owned = own_seen.get(j, INF)
            holders, holder_recent = counts(entry.own, calm, self_owned, windows=WINDOWS)
            fraud = counts(entry.own_fraud, calm, self_owned, fraud_of[p])[0]
            listers, lister_recent = counts(entry.contact, calm, s, windows=WINDOWS)
            lister_fraud = counts(entry.contact_fraud, calm, s, fraud_of[p])[0]
        if hub:
            holders = cap + 1
        links.append((j, c, hub, holders, fraud, default, listers, lister_fraud, holder_recent, lister_recent))

    def share(count: int, of: int, base: float) -> float:
        return (count + smooth * base) / (of + smooth)

    def burst(recent: dict[int, int], of: int) -> float:
        return (recent[7] + recent[1]) * recent[30] / max(of, 1)

    def most(values, empty: float = 0.0) -> float:
        values = list(values)
        return float(max(values)) if values else empty

    out: dict[str, float] = {}
    for code, name in enumerate(kinds):
        every = [x for x in links if not x[1] and kind_of[x[0]] == code]
        calm = [x for x in every if not x[2]]
        out[f"{name}_count"] = float(len(every))
        out[f"{name}_holders"] = most(x[3] for x in every)
        for w in WINDOWS:
            out[f"{name}_recent_{w}d"] = most(x[8][w] for x in calm)
        out[f"{name}_burst"] = most(burst(x[8], x[3]) for x in calm)
        out[f"{name}_fraud"] = float(sum(x[4] for x in calm))
        out[f"{name}_default"] = float(sum(x[5] for x in calm))
        out[f"{name}_fraud_share"] = most((share(x[4], x[3], fraud_prior) for x in calm), fraud_prior)
        out[f"{name}_default_share"] = most((share(x[5], x[3], default_prior) for x in calm), default_prior)
        out[f"{name}_hub"] = most(float(x[2]) for x in every)

    listed = [x for x in links if x[1]]
    owned = [x for x in listed if not x[2] and x[3] > 0]
    unowned = [x for x in listed if not x[2] and x[3] == 0]
    out["contacts"] = float(len(listed))
    out["contact_applicants"] = float(len(owned))
    out["listing_recent_7d"] = float(sum(x[8][7] > 0 for x in owned))
    out["listing_burst"] = float(sum((x[8][7] > 0) + (x[8][1] > 0) for x in owned))
    out["contact_fraud"] = float(sum(x[4] > 0 for x in owned))
    out["contact_colisters"] = most(x[6] for x in unowned)
    for w in WINDOWS:
        out[f"contact_recent_{w}d"] = most(x[9][w] for x in unowned)
    out["contact_burst"] = most(burst(x[9], x[6]) for x in unowned)
    out["contact_colister_fraud"] = float(sum(x[7] for x in unowned))
    out["contact_colister_share"] = most((share(x[7], x[6], fraud_prior) for x in unowned), fraud_prior)
    out["contact_hub"] = most(float(x[2]) for x in listed)

    phones = [x for x in links if not x[1] and not x[2] and kind_of[x[0]] == phone]
    out["listed_by"] = most(x[6] for x in phones)
    for w in WINDOWS:
        out[f"listed_by_recent_{w}d"] = most(x[9][w] for x in phones)
    out["listed_by_burst"] = most(burst(x[9], x[6]) for x in phones)
    out["listed_by_fraud"] = float(sum(x[7] for x in phones))

    columns = {k: np.array([v], dtype=np.float32) for k, v in out.items()}
    columns.update(_relations(projection, p, t, fraud_at))
    made = sum(1 for a, when in zip(arrays.application_applicant.tolist(), arrays.application_at.tolist())
               if a == p and when <= t)
    columns["applications"] = np.array([made], dtype=np.float32)

    when = np.array([t])

    def column(i: int, dtype) -> np.ndarray:
        return np.array([x[i] for x in links], dtype=dtype)

    rows = Rows(np.zeros(len(links), dtype=np.int32), when, column(0, np.int32), column(1, bool),
                column(3, np.int64), column(6, np.int64),
                {w: np.array([x[8][w] for x in links], dtype=np.int64) for w in WINDOWS},
                {w: np.array([x[9][w] for x in links], dtype=np.int64) for w in WINDOWS}, column(2, bool))
    return Features(arrays.applicants[[p]], columns, (fraud_prior, default_prior), rows,
                    positions=np.array([p], dtype=np.int64), at=when)


def _relations(projection: Projection, p: int, t: float, fraud_at: np.ndarray) -> dict[str, np.ndarray]:
    """``compute``'s relation columns for one applicant: distinct counterparties per type
    known by ``t`` (both ways, out, in) and the fraudulent ones."""
    arrays = projection.arrays
    if arrays.relation_src is None or not len(arrays.relation_src):
        return {}
    at = [-INF if v != v else v for v in (arrays.relation_at.tolist() if arrays.relation_at is not None
                                          else [math.nan] * len(arrays.relation_src))]
    types = arrays.relation_type.tolist()
    first: dict[tuple[str, str, int], float] = {}  # (type, direction, counterparty) -> earliest
    for src, dst, kind, when in zip(arrays.relation_src.tolist(), arrays.relation_dst.tolist(), types, at):
        if src == dst or p not in (src, dst):
            continue
        them, direction = (dst, "_out") if src == p else (src, "_in")
        for suffix in ("", direction):
            key = (kind, suffix, them)
            first[key] = min(when, first.get(key, INF))
    fraud_of = fraud_at.tolist()
    out = {}
    for name in sorted(set(types)):
        for suffix in ("", "_out", "_in"):
            known = [them for (kind, s, them), when in first.items() if kind == name and s == suffix and when <= t]
            out[f"relation_{name}{suffix}"] = np.array([len(known)], dtype=np.float32)
            if not suffix:
                fraud = sum(1 for (kind, s, them), when in first.items()
                            if kind == name and not s and max(when, fraud_of[them]) <= t)
                out[f"relation_{name}_fraud"] = np.array([fraud], dtype=np.float32)
    return out
