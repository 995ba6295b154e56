"""Replay: later applications through score-on-write, against the batch run afterwards."""

import pandas as pd
import pytest
from conftest import scenario_sources

from graphsvc.ingest.normalise import parse_as_of
from graphsvc.online.replay import replay
from graphsvc.scenarios import Scenario, generate
from graphsvc.store import open_store


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    from conftest import TEST_KEY

    from graphsvc.settings import Settings, use_settings

    out = tmp_path_factory.mktemp("replay")
    generate(Scenario(5_000, seed=13, ring_share=0.06), out)
    use_settings(Settings(hmac_key=TEST_KEY))
    with open_store(str(out / "work.db")) as store:
        report = replay(store, scenario_sources(out), parse_as_of("2025-05-31"),
                        truth=pd.read_parquet(out / "truth_applicants.parquet"))
    use_settings(None)
    return report


def test_rings_forming_after_the_cut_are_flagged_at_application_time(replayed):
    groups = {g["group"]: g for g in replayed["groups"]}
    rings = groups["ring:all"]
    assert rings["applicants"] >= 40 and rings["flagged_batch"] >= 0.9 * rings["applicants"]
    assert rings["flagged_online"] >= 0.85 * rings["flagged_batch"]
    assert groups["legitimate"]["online_rate"] <= 0.005
    # the typologies of the rings that form after the cut, each recalled in batch
    assert {g for g in groups if g.startswith("ring:")} == {"ring:identity_theft", "ring:packaging",
                                                             "ring:synthetic", "ring:all"}
    assert all(g["batch_rate"] >= 0.9 for name, g in groups.items() if name.startswith("ring:"))


def test_every_later_application_is_answered(replayed):
    answers = replayed["answers"]
    assert replayed["refused"] == 0 and len(answers) == replayed["applications_replayed"] > 500
    assert answers["application_id"].is_unique and answers["score"].between(0, 1000).all()
    assert (answers["applied_at"] > parse_as_of("2025-05-31")).all()
    assert answers["applied_at"].is_monotonic_increasing
    assert replayed["ignored_values"] > 0  # the generator's unusable contact phones, left out, not refused
    latency = replayed["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
