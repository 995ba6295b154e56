"""Point-in-time features against a brute-force oracle, and the same on write as in the batch."""

import math

import numpy as np
import pytest
from conftest import TEST_KEY, application, build_store, contact, on_day

from graphsvc.analytics import features, linkage
from graphsvc.analytics.policy import KindRule, Policy
from graphsvc.analytics.projection import Projection
from graphsvc.online import neighbourhood
from graphsvc.settings import Settings, use_settings
from graphsvc.store import open_store

DAY = 86_400
T0 = 1704067200  # 2024-01-01, day 1


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A farm device taken up over days 1-9, an agent phone listed in a burst, a
    shared home IP, friends listing each other, fraud observed on day 20."""
    apps = [application(n, day=n, device="farm" if n <= 5 else None) for n in range(1, 13)]
    apps += [application(13, day=3, ip="10.0.6.1"), application(14, day=30, ip="10.0.6.1")]
    apps.append({**application(1, day=40), "application_id": "P1b"})  # A001 again, later
    contacts = [contact(n, "13912345678", day=n) for n in (6, 7, 8)]
    contacts += [contact(9, "13800000010", day=9), contact(10, "13800000009", day=10)]
    outcomes = [{"applicant_id": "A002", "outcome": "fraud", "observed_at": on_day(20)},
                {"applicant_id": "A003", "outcome": "default", "observed_at": on_day(25)}]
    use_settings(Settings(hmac_key=TEST_KEY))
    path = build_store(tmp_path_factory.mktemp("features"), apps, contacts, outcomes)
    use_settings(None)
    with open_store(str(path), readonly=True) as store:
        projection = Projection.from_store(store)
        yield store, projection


def oracle(projection: Projection, i: int, t: float, kind: str, cap: int, prior: float, smooth: float) -> dict:
    """Own-identifier features of one applicant at one time, by looping over links."""
    a = projection.arrays
    seen = np.where(np.isnan(a.link_first_seen), -np.inf, a.link_first_seen)
    fraud_at = features.outcome_times(projection, "fraud")
    links = {}
    for who, j, c, s in zip(a.link_applicant, a.link_identifier, a.link_contact, seen):
        links.setdefault((int(who), int(j), bool(c)), s)
        links[(int(who), int(j), bool(c))] = min(links[(int(who), int(j), bool(c))], s)
    mine = [j for (who, j, c), s in links.items() if who == i and not c and s <= t
            and a.kinds[a.identifier_kind[j]] == kind]
    out = {"count": len(mine), "holders": 0, "recent_1d": 0, "recent_7d": 0, "fraud": 0, "share": prior, "hub": 0}
    shares = []
    for j in mine:
        anyone = {who for (who, jj, _), s in links.items() if jj == j and s <= t}
        others = [(who, s) for (who, jj, c), s in links.items() if jj == j and not c and who != i and s <= t]
        if len(anyone) > cap:
            out["hub"], out["holders"] = 1, max(out["holders"], cap + 1)
            continue
        out["holders"] = max(out["holders"], len(others))
        for w in (1, 7):
            out[f"recent_{w}d"] = max(out[f"recent_{w}d"], sum(1 for _, s in others if t - w * DAY < s <= t))
        fraud = sum(1 for who, s in others if max(s, fraud_at[who]) <= t)
        out["fraud"] += fraud
        shares.append((fraud + smooth * prior) / (len(others) + smooth))
    if shares:
        out["share"] = max(shares)
    return out


@pytest.mark.parametrize("day", [1, 4, 9, 12, 21, 45])
def test_own_identifier_features_match_the_oracle(small, day):
    store, projection = small
    policy = Policy(feature_cap=3)
    at = T0 + (day - 1) * DAY + 12 * 3600
    prior = (0.1, 0.05)
    table = features.compute(projection, policy, at=at, prior=prior, store=store)
    row_of = {a: r for r, a in enumerate(table.applicant_id)}
    for kind in ("device", "ip", "subnet"):
        for applicant in table.applicant_id:
            i = int(np.flatnonzero(projection.applicants == applicant)[0])
            want = oracle(projection, i, at, kind, 3, prior[0], policy.share_smoothing)
            r = row_of[applicant]
            got = {"count": table[f"{kind}_count"][r], "holders": table[f"{kind}_holders"][r],
                   "recent_1d": table[f"{kind}_recent_1d"][r], "recent_7d": table[f"{kind}_recent_7d"][r],
                   "fraud": table[f"{kind}_fraud"][r], "share": table[f"{kind}_fraud_share"][r],
                   "hub": table[f"{kind}_hub"][r]}
            assert got == pytest.approx(want, abs=1e-6), (kind, applicant, day)


def test_per_row_times_equal_one_time_for_all(small):
    """The binary-search path (a time per row) gives what the bincount path (one time) gives."""
    store, projection = small
    policy = Policy()
    at = T0 + 10 * DAY
    positions = np.flatnonzero(projection.known)
    one = features.compute(projection, policy, at=at, positions=positions, store=store)
    times = np.full(len(positions), float(at))
    times[0] += 0.25  # no longer one time for all, the same second
    each = features.compute(projection, policy, at=times, positions=positions, store=store)
    assert one.columns.keys() == each.columns.keys()
    for name in one.columns:
        assert np.array_equal(one[name], each[name]), name


def test_an_applicants_own_label_never_counts(small):
    store, projection = small
    table = features.compute(projection, Policy(), at=T0 + 60 * DAY, store=store)
    r = list(table.applicant_id).index("A002")  # the fraudster of the farm
    assert table["device_fraud"][r] == 0
    others = [list(table.applicant_id).index(f"A00{n}") for n in (1, 3, 4, 5)]
    assert all(table["device_fraud"][k] == 1 for k in others)
    before = features.compute(projection, Policy(), at=T0 + 18 * DAY, store=store)  # fraud observed on day 20
    assert all(before["device_fraud"][k] == 0 for k in others)


def test_contact_listing_features_as_of_their_time(small):
    store, projection = small
    table = features.compute(projection, Policy(), at=T0 + 7 * DAY + 12 * 3600, store=store)  # day 8, noon
    row = {a: r for r, a in enumerate(table.applicant_id)}
    # the agent phone: listed at the start of days 6, 7 and 8 by nobody who owns it
    assert table["contact_colisters"][row["A008"]] == 2
    assert table["contact_recent_7d"][row["A008"]] == 2 and table["contact_recent_1d"][row["A008"]] == 0
    assert table["contact_burst"][row["A008"]] == pytest.approx(2 * 2 / 2)
    assert table["contact_colisters"][row["A007"]] == 2  # A008's listing came before noon of day 8
    # A009 lists A010's phone on day 9, before A010 applies (day 10) and lists A009's
    day9 = features.compute(projection, Policy(), at=T0 + 9 * DAY - 1, store=store)
    assert (day9["contact_applicants"][row["A009"]], day9["listed_by"][row["A009"]]) == (0, 0)
    day10 = features.compute(projection, Policy(), at=T0 + 10 * DAY - 1, store=store)
    assert (day10["contact_applicants"][row["A009"]], day10["listed_by"][row["A009"]]) == (1, 1)
    assert (day10["contact_applicants"][row["A010"]], day10["listed_by"][row["A010"]]) == (1, 1)
    assert day10["listing_recent_7d"][row["A010"]] == 1  # A009 took its phone up on day 9
    assert table["applications"][row["A001"]] == 1
    later = features.compute(projection, Policy(), at=T0 + 41 * DAY, store=store)
    assert later["applications"][list(later.applicant_id).index("A001")] == 2


def test_the_neighbourhood_projection_gives_the_batch_features(small):
    """Score-on-write's projection of one applicant's neighbourhood yields the same
    features for that applicant as the whole graph (one rulebook)."""
    store, projection = small
    policy = Policy()
    linked = linkage.link(projection, policy, store)
    for applicant, day in (("A004", 5), ("A008", 9), ("A014", 31), ("A010", 12)):
        at = T0 + (day - 1) * DAY + 3600
        whole = projection.applicants.tolist().index(applicant)
        batch = features.compute(projection, policy, at=at, positions=np.array([whole]), prior=(0.01, 0.02),
                                 store=store, linked=linked)
        found = neighbourhood.around(store, applicant, [], policy.feature_cap)
        near = found.projection(as_of=at)
        online = features.compute(near, policy, at=at, positions=np.array([0]), prior=(0.01, 0.02),
                                  linked=linkage.link(near, policy, None))
        for name in batch.columns:
            want = batch[name][0]
            assert online[name][0] == pytest.approx(want) or (math.isnan(want) and math.isnan(online[name][0])), \
                (applicant, name)


def test_an_applicants_own_hub_counts_on_write_as_in_the_batch(small):
    """A hub (more holders than ``feature_cap``) is counted, not fetched, on write; the
    applicant's own link to it still comes, so it shows as held and as a hub, as in the batch."""
    store, projection = small
    # the farm device, held by A001-A005, is a hub to the features and to the linkage
    kinds = {**Policy().kinds, "device": KindRule(weight=1.0, hub=3, hub_verdict="device farm")}
    policy = Policy(feature_cap=3, kinds=kinds)
    linked = linkage.link(projection, policy, store)
    at = T0 + 20 * DAY
    whole = projection.applicants.tolist().index("A002")
    batch = features.compute(projection, policy, at=at, positions=np.array([whole]), prior=(0.01, 0.02),
                             store=store, linked=linked)
    found = neighbourhood.around(store, "A002", [], policy.feature_cap)
    assert found.degree[("device", "farm")] == 4 and ("device", "farm") not in found.fetched
    assert [link[:3] for link in found.links if link[1] == "device"] == [("A002", "device", "farm")]
    near = found.projection(as_of=at)
    online = features.compute(near, policy, at=at, positions=np.array([0]), prior=(0.01, 0.02),
                              linked=linkage.link(near, policy, None))
    assert (online["device_count"][0], online["device_hub"][0], online["device_holders"][0]) == (1, 1, 4)
    for name in batch.columns:
        assert online[name][0] == pytest.approx(batch[name][0], nan_ok=True), name


def test_relation_features_per_type_and_direction(tmp_path):
    from conftest import write_csv

    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources

    apps = write_csv(tmp_path / "apps.csv", [application(n) for n in (1, 2, 3, 4)])
    relations = write_csv(tmp_path / "relations.csv", [
        {"src_applicant_id": "A001", "dst_applicant_id": "A002", "type": "transfer", "at": on_day(2)},
        {"src_applicant_id": "A001", "dst_applicant_id": "A002", "type": "transfer", "at": on_day(3)},
        {"src_applicant_id": "A003", "dst_applicant_id": "A001", "type": "transfer", "at": on_day(5)},
        {"src_applicant_id": "A004", "dst_applicant_id": "A001", "type": "guarantee", "at": ""}])
    outcomes = write_csv(tmp_path / "outcomes.csv", [
        {"applicant_id": "A003", "outcome": "fraud", "observed_at": on_day(6)}])
    with open_store(str(tmp_path / "graph.db")) as store:
        load(store, canonical_sources({"applications": apps, "relations": relations, "outcomes": outcomes}))
        projection = Projection.from_store(store)
        early = features.compute(projection, Policy(), at=T0 + 3 * DAY, store=store)
        late = features.compute(projection, Policy(), at=T0 + 10 * DAY, store=store)
    r = list(late.applicant_id).index("A001")
    assert (early["relation_transfer"][r], early["relation_transfer_out"][r], early["relation_transfer_in"][r]) \
        == (1, 1, 0)
    assert (late["relation_transfer"][r], late["relation_transfer_out"][r], late["relation_transfer_in"][r]) \
        == (2, 1, 1)
    assert (early["relation_transfer_fraud"][r], late["relation_transfer_fraud"][r]) == (0, 1)
    assert early["relation_guarantee"][r] == 1  # undated: always known
