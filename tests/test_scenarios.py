"""Generated scenarios: deterministic, consistent with their truth, realistic sharing."""

import hashlib
import json

import pandas as pd
import pytest

from graphsvc.scenarios import Scenario, generate
from graphsvc.store import open_store


def _digest(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    generate(Scenario(1_000, seed=5), tmp_path / "a")
    generate(Scenario(1_000, seed=5), tmp_path / "b")
    generate(Scenario(1_000, seed=6), tmp_path / "c")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["applications.parquet"] != _digest(tmp_path / "c")["applications.parquet"]


def test_truth_matches_the_tables(scenario_dir):
    summary = json.loads((scenario_dir / "truth.json").read_text())
    apps = pd.read_parquet(scenario_dir / "applications.parquet")
    truth = pd.read_parquet(scenario_dir / "truth_applicants.parquet")
    assert summary["applicants"] == apps["applicant_id"].nunique() == len(truth) == 3_000
    assert set(truth["applicant_id"]) == set(apps["applicant_id"])
    members = truth.dropna(subset=["ring_id"])
    assert len(members) == summary["ring_members"] == 120  # 4% of 3,000
    outcomes = pd.read_parquet(scenario_dir / "outcomes.parquet")
    fraud = set(outcomes.loc[outcomes["outcome"] == "fraud", "applicant_id"])
    ring_fraud = members["applicant_id"].isin(fraud).mean()
    assert 0.15 <= ring_fraud <= 0.45  # 30% planted, small sample
    lost = pd.read_parquet(scenario_dir / "truth_lost_contact.parquet")
    assert len(lost) == 48 and set(lost["route"]) == {"own_device", "same_identity", "reverse_contact", "unreachable"}
    lost_outcomes = outcomes[outcomes["outcome"] == "lost_contact"]
    assert set(lost_outcomes["applicant_id"]) == set(lost["applicant_id"])


def test_each_lost_contact_route_is_discoverable_as_the_truth_says(scenario_db, scenario_dir):
    lost = pd.read_parquet(scenario_dir / "truth_lost_contact.parquet")
    with open_store(str(scenario_db), readonly=True) as store:
        for row in lost.itertuples(index=False):
            holders = store.identifier_links([("phone", row.new_phone)])
            if row.route == "unreachable":
                assert holders.empty
            elif row.route == "reverse_contact":
                listed = holders[(holders["role"] == "contact")]
                assert listed["applicant_id"].tolist() == [row.knower_applicant_id]
            else:
                own = holders[holders["role"] == "own"]
                assert own["applicant_id"].tolist() == [row.new_account_applicant_id]
                kind = "device" if row.route == "own_device" else "id_number"
                borrower = store.applicant_links([row.applicant_id])
                account = store.applicant_links([row.new_account_applicant_id])
                shared = set(borrower.loc[borrower["kind"] == kind, "value"]) & set(
                    account.loc[account["kind"] == kind, "value"])
                assert len(shared) == 1, f"{row.route} link missing for {row.applicant_id}"


def test_legitimate_sharing_is_there(scenario_db, scenario_dir):
    truth = pd.read_parquet(scenario_dir / "truth_applicants.parquet")
    assert truth["shares_home_ip"].sum() > 300 and truth["shares_tablet"].sum() > 50
    with open_store(str(scenario_db), readonly=True) as store:
        ips = store.shared_identifiers("ip")
        phones = store.shared_identifiers("phone")
    assert ips["degree"].max() >= 200  # a carrier NAT address
    hotline = phones[phones["value"].str.startswith("+86400")]
    assert hotline["degree"].max() >= 100  # a popular service number


def test_contact_rows_with_unusable_phones_are_rejected_as_planted(scenario_dir, scenario_db):
    summary = json.loads((scenario_dir / "truth.json").read_text())
    with open_store(str(scenario_db), readonly=True) as store:
        rejected = store._con.execute("SELECT count(*) FROM rejects WHERE reason = 'invalid_phone'").fetchone()[0]
    assert rejected == summary["dirty_contact_rows"] > 0


def test_too_small_scenarios_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 50"):
        generate(Scenario(10), tmp_path)
