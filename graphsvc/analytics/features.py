"""Point-in-time applicant features: what the graph knew of an applicant at a time.

One table, one row per applicant, computed only from what was known at each
row's scoring time ``at``: links first seen by then, and outcomes observed by
then (the projection's own cut-off may be earlier: a backtest's labels). An
applicant's own label never enters its features. The catalogue, with every
column's meaning, is in ``docs/features.md``; in short:

* per identifier kind ``k`` (device, phone, ip, subnet, id_number, and any
  declared kind): ``k_count`` held; over them the most other holders
  (``k_holders``), the most that were first seen in the last 1, 7 and 30 days
  (``k_recent_1d`` ...), the most concentrated take-up (``k_burst``: recent
  others weighted by the share of all others that came in the last 30 days),
  the known fraud and defaults among the other holders
  (``k_fraud``, ``k_default``), the highest smoothed fraud and default shares
  (``k_fraud_share``, ``k_default_share``) and whether one is a hub (``k_hub``);
* contacts: numbers listed, those that are applicants' own phones (and
  fraudsters' phones, and phones their owner took up in the last 7 days:
  ``listing_recent_7d``, ``listing_burst`` counting the last day twice), co-listers of
  numbers nobody owns (an agent's phone: most co-listers, most recent ones, fraud among
  them, smoothed share), hubs;
* who lists the applicant's own phone (most listers, recent ones, fraud);
* given the linkage, applicants strongly linked to it that first applied in
  the last 1, 7 and 30 days (``linked_recent_1d`` ...; ``linked_burst`` counts
  the last 7 days and the last day again);
* per relation type: distinct counterparties (and per direction: ``_out``,
  ``_in``) and fraudulent ones;
* applications made.

Hubs are counted, not expanded: an identifier linked to more than
``policy.feature_cap`` applicants at the scoring time, or a business service
line, contributes its kind's ``_hub`` flag and a holder count of
``feature_cap + 1`` only. Online scoring
fetches exactly that much of a neighbourhood, so a feature means the same on
write as in the batch.

Smoothed shares are ``(fraud + s * prior) / (holders + s)`` with ``s =
policy.share_smoothing`` and ``prior`` the base fraud (or default) rate, so
an identifier nobody else holds reads as the base rate, not as zero.

Complexity: one sort of the links; counts at one time for everyone (a batch
run) are bincounts, ``O(links)``; counts at each applicant's own time (a
training set) are binary searches, ``O(links log links)``.
"""

from __future__ import annotations

import time as clock

import numpy as np

from graphsvc.analytics import feature_row
from graphsvc.analytics.feature_table import DAY, WINDOWS, Counter, Features, LinkTimes, Rows
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection

ONE_ROW_LINKS = 5_000  # up to this many links, one row is counted in plain Python (feature_row)


def outcome_times(projection: Projection, outcome: str) -> np.ndarray:
    """Per applicant, when ``outcome`` was first observed (-inf: undated; +inf: not known)."""
    arrays = projection.arrays
    flagged = projection.fraud if outcome == "fraud" else projection.default
    at = np.full(len(arrays.applicants), np.inf)
    pick = arrays.outcome == outcome
    observed = np.where(np.isnan(arrays.outcome_at[pick]), -np.inf, arrays.outcome_at[pick])
    np.minimum.at(at, arrays.outcome_applicant[pick], observed)
    return np.where(flagged, at, np.inf)


def base_rates(projection: Projection) -> tuple[float, float]:
    """Fraud and default shares among the applicants known to the projection."""
    known = max(int(projection.known.sum()), 1)
    return (float((projection.fraud & projection.known).sum()) / known,
            float((projection.default & projection.known).sum()) / known)


def _index(projection: Projection, fraud_at: np.ndarray, default_at: np.ndarray):
    """The projection's links and counters, built once per projection (its labels fixed)."""
    cached = projection.cache.get("features")
    if cached is not None:
        return cached
    arrays = projection.arrays
    m = len(arrays.identifier_kind)
    links = LinkTimes(arrays)
    own, listed = ~links.contact, links.contact
    counters = {
        "own": Counter(links.identifier[own], links.seen[own], m),
        "contact": Counter(links.identifier[listed], links.seen[listed], m),
        "own_fraud": Counter(links.identifier[own], np.maximum(links.seen, fraud_at[links.applicant])[own], m),
        "own_default": Counter(links.identifier[own], np.maximum(links.seen, default_at[links.applicant])[own], m),
        "contact_fraud": Counter(links.identifier[listed],
                                  np.maximum(links.seen, fraud_at[links.applicant])[listed], m),
    }
    pair = (links.applicant.astype(np.int64) << 32) | links.identifier  # any role: the earliest of the roles
    starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1]))) if len(pair) else np.zeros(0, np.int64)
    anyone = Counter(links.identifier[starts],
                      np.minimum.reduceat(links.seen, starts) if len(starts) else links.seen, m)
    projection.cache["features"] = links, counters, anyone
    return projection.cache["features"]


def compute(projection: Projection, policy: Policy, *, at=None, positions: np.ndarray | None = None,
            prior: tuple[float, float] | None = None, store=None, linked=None,
            keep_rows: bool = False) -> Features:
    """The feature table of ``positions`` (default: every known applicant) at ``at``.

    Parameters
    ----------
    projection : Projection
        What is known: its links and outcomes (as of its own date).
    policy : Policy
        ``feature_cap`` and ``share_smoothing``.
    at : float or array, optional
        Scoring time of each row in epoch seconds; default: the projection's
        as-of date, else now. Links first seen later are left out; outcomes are
        counted once observed (and known to the projection).
    prior : (float, float), optional
        Base fraud and default rates for the smoothed shares; default: the
        projection's own (:func:`base_rates`). A fitted model brings its own.
    store : Store, optional
        Where identifier values come from (to tell business service lines, which
        count as hubs); a scoring neighbourhood carries its values instead.
    linked : Linkage, optional
        The projection's linkage (:func:`graphsvc.analytics.linkage.link`): adds the
        ``linked_*`` features, applicants strongly linked that applied lately.
    keep_rows : bool
        Keep the per-link values (:class:`Rows`) behind the features.

    Returns
    -------
    Features
        The table of ``positions`` in that order, columns in a stable order.
    """
    arrays = projection.arrays
    n = len(arrays.applicants)
    if positions is None:
        positions = np.flatnonzero(projection.known)
    positions = np.asarray(positions, dtype=np.int64)
    if at is None:
        at = projection.as_of if projection.as_of is not None else clock.time()
    when = np.broadcast_to(np.asarray(at, dtype=float), positions.shape).copy()
    fraud_prior, default_prior = prior if prior is not None else base_rates(projection)
    cap, smooth = policy.feature_cap, policy.share_smoothing
    fraud_at, default_at = outcome_times(projection, "fraud"), outcome_times(projection, "default")

    if len(positions) == 1 and len(arrays.link_applicant) <= ONE_ROW_LINKS:  # a neighbourhood's one row
        table = feature_row.row(projection, policy, int(positions[0]), float(when[0]),
                                (fraud_prior, default_prior), fraud_at, default_at, store)
        if not keep_rows:
            table.rows = None
        if linked is not None:
            add_linked(table, projection, linked, policy)
        return table

    links, counters, anyone = _index(projection, fraud_at, default_at)
    counted = arrays.identifier_degree

    # the rows: each link of a scored applicant known at its scoring time
    row_of = np.full(n, -1, dtype=np.int32 if len(positions) < 2**31 else np.int64)
    row_of[positions] = np.arange(len(positions))
    time_of = np.full(n, -np.inf)
    time_of[positions] = when
    pick = (row_of[links.applicant] >= 0) & (links.seen <= time_of[links.applicant])
    a, j, c, s = links.applicant[pick], links.identifier[pick], links.contact[pick], links.seen[pick]
    r = row_of[a]
    one_time = len(when) == 0 or bool((when == when[0]).all())
    t = float(when[0]) if one_time and len(when) else time_of[a]  # a scalar: counts are bincounts
    order = None if one_time else np.lexsort((t, j))  # a sort per counted part, below; this one for the degree
    degree = anyone.upto(j, t, order)
    if counted is not None:
        degree = np.maximum(degree, counted[j])
    hub = (degree > cap) | projection.service_numbers(store)[j]

    # each count only where a feature reads it: holders on every link (own identifiers,
    # and the owners of listed numbers), listers on listed numbers and own phones
    kind = arrays.identifier_kind[j]
    phone = arrays.kinds.index("phone") if "phone" in arrays.kinds else -1
    own_rows, listed_rows = np.flatnonzero(~c), np.flatnonzero(c)
    phone_rows = own_rows[kind[own_rows] == phone]
    size = len(j)

    def counts(counter: str, rows_: np.ndarray, self_seen: np.ndarray, self_outcome=None,
               windows: tuple[int, ...] = ()) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Links of the counter's role known at each row's time, less the applicant's own
        (``self_seen``: when its own link of that role was first seen; +inf: none), and
        of them, those first seen in the last ``windows`` days; 0 on hubs."""
        if id(rows_) not in sorted_parts:  # one sort of a part's queries serves every count of it
            tt_ = t if np.ndim(t) == 0 else t[rows_]
            sorted_parts[id(rows_)] = (tt_, None if order is None else np.lexsort((tt_, j[rows_])))
        (tt, oo), jj, calm = sorted_parts[id(rows_)], j[rows_], ~hub[rows_]
        upto = counters[counter].upto(jj, tt, oo)
        known_self = self_seen <= tt if self_outcome is None else np.maximum(self_seen, self_outcome) <= tt
        recent_ = {}
        for w in windows:
            since = tt - w * DAY
            fresh = upto - counters[counter].upto(jj, since, oo) - ((self_seen <= tt) & (self_seen > since))
            recent_[w] = np.where(calm, fresh, 0)
        return np.where(calm, upto - known_self, 0), recent_

    sorted_parts: dict[int, tuple] = {}

    def spread(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        full = np.zeros(size, dtype=np.int32)
        for rows_, values in parts:
            full[rows_] = values
        return full

    s_own, s_listed = s[own_rows], s[listed_rows]
    owner_seen = links.time_of(a[listed_rows], j[listed_rows], contact=False)  # a listed number it owns too
    lister_seen = links.time_of(a[phone_rows], j[phone_rows], contact=True)  # its own phone it lists too
    held, held_recent = counts("own", own_rows, s_own, windows=WINDOWS)
    owners, owners_recent = counts("own", listed_rows, owner_seen, windows=WINDOWS)
    holders = np.where(hub, cap + 1, spread([(own_rows, held), (listed_rows, owners)]))
    holder_fraud = spread([(own_rows, counts("own_fraud", own_rows, s_own, fraud_at[a[own_rows]])[0]),
                           (listed_rows, counts("own_fraud", listed_rows, owner_seen, fraud_at[a[listed_rows]])[0])])
    holder_default = spread([(own_rows, counts("own_default", own_rows, s_own, default_at[a[own_rows]])[0])])
    holder_recent = {w: spread([(own_rows, held_recent[w]), (listed_rows, owners_recent[w])]) for w in WINDOWS}
    co, co_recent = counts("contact", listed_rows, s_listed, windows=WINDOWS)
    by, by_recent = counts("contact", phone_rows, lister_seen, windows=WINDOWS)
    listers = spread([(listed_rows, co), (phone_rows, by)])
    lister_fraud = spread([(listed_rows, counts("contact_fraud", listed_rows, s_listed, fraud_at[a[listed_rows]])[0]),
                           (phone_rows, counts("contact_fraud", phone_rows, lister_seen, fraud_at[a[phone_rows]])[0])])
    lister_recent = {w: spread([(listed_rows, co_recent[w]), (phone_rows, by_recent[w])]) for w in WINDOWS}

    rows = len(positions)
    out: dict[str, np.ndarray] = {}
    # The links come in applicant order, and so in row order when the rows are (a batch
    # run's; otherwise sort them once). Each group of links (one kind's own, the listed
    # numbers ...) is cut out once and summed or maxed per row by segment.
    if len(r) and not (r[1:] >= r[:-1]).all():
        by_row = np.argsort(r, kind="stable")
        r, j, c, hub = r[by_row], j[by_row], c[by_row], hub[by_row]
        holders, holder_fraud, holder_default, listers, lister_fraud = (
            x[by_row] for x in (holders, holder_fraud, holder_default, listers, lister_fraud))
        holder_recent = {w: v[by_row] for w, v in holder_recent.items()}
        lister_recent = {w: v[by_row] for w, v in lister_recent.items()}

    class Group:
        """Some of the links, with the segments of their rows."""

        def __init__(self, mask: np.ndarray) -> None:
            self.index = np.flatnonzero(mask)
            mine = r[self.index]
            self.starts = np.flatnonzero(np.concatenate(([True], mine[1:] != mine[:-1]))) if len(mine) else mine
            self.rows = mine[self.starts] if len(mine) else mine

        def reduce(self, ufunc, values, neutral: float) -> np.ndarray:
            acc = np.full(rows, neutral)
            if len(self.index):
                picked = values[self.index] if np.ndim(values) else np.full(len(self.index), float(values))
                acc[self.rows] = ufunc.reduceat(picked, self.starts)
            return acc

        def total(self, values) -> np.ndarray:
            return self.reduce(np.add, values, 0.0)

        def most(self, values, empty: float = 0.0) -> np.ndarray:
            acc = self.reduce(np.maximum, values, -np.inf)
            return np.where(np.isinf(acc), empty, acc)

    def share(count: np.ndarray, of: np.ndarray, base: float) -> np.ndarray:
        return (count + smooth * base) / (of + smooth)

    def burst(recent_: dict[int, np.ndarray], of: np.ndarray) -> np.ndarray:
        """Recent others, weighted by the share of all others that came in the last 30 days:
        high for a device or number many took up at once, low for a busy one."""
        return (recent_[7] + recent_[1]) * recent_[30] / np.maximum(of, 1)

    kind = arrays.identifier_kind[j]  # in row order
    fraud_share = share(holder_fraud, holders, fraud_prior)
    default_share = share(holder_default, holders, default_prior)
    holder_burst = burst(holder_recent, holders)
    for code, name in enumerate(arrays.kinds):
        mine = ~c & (kind == code)
        every, calm = Group(mine), Group(mine & ~hub)
        out[f"{name}_count"] = every.total(1.0)
        out[f"{name}_holders"] = every.most(holders)
        for w in WINDOWS:
            out[f"{name}_recent_{w}d"] = calm.most(holder_recent[w])
        out[f"{name}_burst"] = calm.most(holder_burst)
        out[f"{name}_fraud"] = calm.total(holder_fraud)
        out[f"{name}_default"] = calm.total(holder_default)
        out[f"{name}_fraud_share"] = calm.most(fraud_share, fraud_prior)
        out[f"{name}_default_share"] = calm.most(default_share, default_prior)
        out[f"{name}_hub"] = every.most(hub.astype(np.float32))

    listing = c & ~hub
    owned, unowned = Group(listing & (holders > 0)), Group(listing & (holders == 0))
    out["contacts"] = Group(c).total(1.0)
    out["contact_applicants"] = owned.total(1.0)
    # numbers listed whose owner took them up lately (identities listing each other as they appear)
    out["listing_recent_7d"] = owned.total((holder_recent[7] > 0).astype(np.float32))
    out["listing_burst"] = owned.total((holder_recent[7] > 0).astype(np.float32) + (holder_recent[1] > 0))
    out["contact_fraud"] = owned.total((holder_fraud > 0).astype(np.float32))
    out["contact_colisters"] = unowned.most(listers)
    for w in WINDOWS:
        out[f"contact_recent_{w}d"] = unowned.most(lister_recent[w])
    lister_burst = burst(lister_recent, listers)
    out["contact_burst"] = unowned.most(lister_burst)
    out["contact_colister_fraud"] = unowned.total(lister_fraud)
    out["contact_colister_share"] = unowned.most(share(lister_fraud, listers, fraud_prior), fraud_prior)
    out["contact_hub"] = Group(c).most(hub.astype(np.float32))

    phones = Group(~c & ~hub & (kind == (arrays.kinds.index("phone") if "phone" in arrays.kinds else -1)))
    out["listed_by"] = phones.most(listers)
    for w in WINDOWS:
        out[f"listed_by_recent_{w}d"] = phones.most(lister_recent[w])
    out["listed_by_burst"] = phones.most(lister_burst)
    out["listed_by_fraud"] = phones.total(lister_fraud)

    out.update(_relations(projection, row_of, time_of, fraud_at, rows))
    applied = row_of[arrays.application_applicant]
    made = (applied >= 0) & (arrays.application_at <= time_of[arrays.application_applicant])
    out["applications"] = np.bincount(applied[made], minlength=rows).astype(float)

    table = Features(arrays.applicants[positions], {k: v.astype(np.float32) for k, v in out.items()},
                     (fraud_prior, default_prior),
                     Rows(r, when, j, c, holders, listers, holder_recent, lister_recent, hub) if keep_rows else None,
                     positions=positions, at=when)
    if linked is not None:
        add_linked(table, projection, linked, policy)
    return table


def add_linked(table: Features, projection: Projection, linked, policy: Policy) -> None:
    """Add the ``linked_*`` columns, which read the linkage, to a table computed without it."""
    extra = _linked(projection, linked.strong(policy.strong_link), table.positions, table.at)
    table.columns.update({k: v.astype(np.float32) for k, v in extra.items()})


def _linked(projection: Projection, strong, positions: np.ndarray, when: np.ndarray) -> dict[str, np.ndarray]:
    """Strongly linked applicants whose first application fell in the last 1, 7 and
    30 days before each row's time (a group forming), and their burst."""
    if len(positions) == 1:  # score-on-write's one row: its slice of the CSR arrays, no new matrix
        begin, end = strong.indptr[positions[0]], strong.indptr[positions[0] + 1]
        row, col = np.zeros(end - begin, dtype=np.int64), strong.indices[begin:end]
    else:
        graph = strong[positions].tocoo()
        row, col = graph.row, graph.col
    first = projection.first_applied[col]
    age = when[row] - first
    out = {}
    for w in WINDOWS:
        recent = (age >= 0) & (age < w * DAY)
        out[f"linked_recent_{w}d"] = np.bincount(row[recent], minlength=len(positions)).astype(float)
    out["linked_burst"] = out["linked_recent_7d"] + out["linked_recent_1d"]
    return out


def _relations(projection: Projection, row_of: np.ndarray, time_of: np.ndarray, fraud_at: np.ndarray,
               rows: int) -> dict[str, np.ndarray]:
    """Distinct counterparties per relation type known at each row's time, in both
    directions and per direction (``_out``: the applicant was the source), and the
    fraudulent ones."""
    arrays = projection.arrays
    if arrays.relation_src is None or not len(arrays.relation_src):
        return {}
    at = arrays.relation_at if arrays.relation_at is not None else np.full(len(arrays.relation_src), np.nan)
    at = np.where(np.isnan(at), -np.inf, at)
    out = {}
    for name in sorted(set(arrays.relation_type.tolist())):
        pick = (arrays.relation_type == name) & (arrays.relation_src != arrays.relation_dst)
        src, dst = arrays.relation_src[pick].astype(np.int64), arrays.relation_dst[pick].astype(np.int64)
        for suffix, me, them, when in (
                ("", np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([at[pick], at[pick]])),
                ("_out", src, dst, at[pick]), ("_in", dst, src, at[pick])):
            scored = row_of[me] >= 0
            me, them, when = me[scored], them[scored], when[scored]
            key = (me << 32) | them
            order = np.lexsort((when, key))
            key, when = key[order], when[order]
            first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
            me, them, when = me[order][first], them[order][first], when[first]
            known = when <= time_of[me]
            out[f"relation_{name}{suffix}"] = np.bincount(row_of[me[known]], minlength=rows).astype(float)
            if not suffix:
                fraud = known & (np.maximum(when, fraud_at[them]) <= time_of[me])
                out[f"relation_{name}_fraud"] = np.bincount(row_of[me[fraud]], minlength=rows).astype(float)
    return out
