"""The command line: load (canonical and mapped), generate, info, demo, errors."""

import json

import pandas as pd
from conftest import P2P_DIR, REPO, TEST_KEY, empty_neo4j, live_neo4j, on_neo4j, write_csv
from typer.testing import CliRunner

from graphsvc.cli import app
from graphsvc.settings import Settings, use_settings

runner = CliRunner(env={"COLUMNS": "250"})


def test_load_reports_and_writes_rejects(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    use_settings(None)
    apps = write_csv(tmp_path / "apps.csv", [
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "phone": "13800000001"},
        {"application_id": "P2", "applicant_id": "A2", "applied_at": "soon", "phone": "13800000002"},
    ])
    db = tmp_path / "g.db"
    result = runner.invoke(app, ["load", "--db", str(db), "--applications", str(apps), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["files"][0] | {"file": "apps.csv"} == {
        "table": "applications", "file": "apps.csv", "read": 2, "loaded": 1, "duplicates": 0, "rejected": 1,
        "quarantined": 0, "filtered": 0, "pending": 0, "attached": 0, "already_loaded": 0,
        "rejected_by_reason": "invalid_timestamp=1"}
    rejects = pd.read_csv(out["rejects_report"])
    assert rejects[["table", "row", "column", "reason"]].values.tolist() == [
        ["applications", 2, "applied_at", "invalid_timestamp"]]


def test_load_without_key_fails_clearly_only_for_identity_numbers(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHSVC_HMAC_KEY", raising=False)
    use_settings(Settings(hmac_key=None))
    apps = write_csv(tmp_path / "apps.csv", [
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "id_number": "110101199003070000"}])
    result = runner.invoke(app, ["load", "--db", str(tmp_path / "g.db"), "--applications", str(apps)])
    assert result.exit_code == 2
    assert "no HMAC key for identity numbers" in result.output
    plain = write_csv(tmp_path / "plain.csv", [  # no identity numbers: no key needed
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "phone": "13800000001"}])
    result = runner.invoke(app, ["load", "--db", str(tmp_path / "g.db"), "--applications", str(plain),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"][0]["loaded"] == 1


def test_a_mapping_typo_is_named_with_its_section(tmp_path):
    mapping = tmp_path / "bad.toml"
    write_csv(tmp_path / "apps.csv", [{"id": "1"}])
    mapping.write_text('[[tables]]\ntable = "applications"\nfile = "apps.csv"\ncolumn = {}\n')
    result = runner.invoke(app, ["load", "--db", str(tmp_path / "g.db"), "--source", str(mapping)])
    assert result.exit_code == 2
    assert "unknown key(s) ['column'] in a [[tables]] entry" in result.output  # not eaten as markup


def test_tables_fold_at_80_columns_instead_of_cutting(tmp_path):
    apps = write_csv(tmp_path / "apps.csv", [
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "phone": "13800000001"}])
    narrow = CliRunner(env={"COLUMNS": "80"})
    result = narrow.invoke(app, ["load", "--db", str(tmp_path / "g.db"), "--applications", str(apps)])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and max(len(line) for line in result.output.splitlines()) <= 80
    assert "│ applications │" in result.output and "zero in every file: duplicates, rejected" in result.output


def test_info_shows_the_facts_waiting_for_their_applicant(tmp_path):
    db = tmp_path / "g.db"
    contacts = write_csv(tmp_path / "contacts.csv", [
        {"applicant_id": "A1", "contact_phone": "13800000001"}, {"applicant_id": "A2", "contact_phone": "13800000002"}])
    loaded = runner.invoke(app, ["load", "--db", str(db), "--contacts", str(contacts), "--format", "json"])
    assert json.loads(loaded.output)["files"][0] | {"file": ""} == {
        "table": "contacts", "file": "", "read": 2, "loaded": 0, "duplicates": 0, "rejected": 0, "quarantined": 0,
        "filtered": 0, "pending": 2, "attached": 0, "already_loaded": 0, "rejected_by_reason": ""}
    shown = runner.invoke(app, ["info", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    waiting = shown.output[shown.output.index("pending: facts waiting"):]
    line = next(line for line in waiting.splitlines() if "│ contacts" in line)
    assert line.split("│")[1:3] == [" contacts ", "    2 "] and line.rstrip().endswith("s │")  # an age in seconds
    apps = write_csv(tmp_path / "apps.csv", [
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "phone": "13800000009"}])
    after = runner.invoke(app, ["load", "--db", str(db), "--applications", str(apps), "--format", "json"])
    assert json.loads(after.output)["files"][0]["attached"] == 1
    again = runner.invoke(app, ["info", "--db", str(db)]).output
    assert "│ contacts │    1 │" in again[again.index("pending: facts waiting"):]
    assert "personal information: 0 tombstones of erased people, 0 open requests for human review" in again


def test_runs_say_which_is_served_and_promote_and_rollback_change_it(scenario_db, tmp_path):
    import shutil

    db = tmp_path / "graph.db"
    shutil.copy(scenario_db, db)
    first = json.loads(runner.invoke(app, ["rescore", "--db", str(db), "--format", "json"]).output)
    held = runner.invoke(app, ["rescore", "--db", str(db), "--as-of", "2024-06-30"])
    assert held.exit_code == 0 and "held, not served: scored as of 2024-06-30T23:59:59Z" in held.output
    listed = json.loads(runner.invoke(app, ["runs", "--db", str(db), "--format", "json"]).output)
    assert [(r["served"], r["decision"]) for r in listed] == [(False, "hold"), (True, "promote")]
    assert listed[1]["run_id"] == first["run_id"] and listed[1]["reason"].startswith("covers the store")
    table = runner.invoke(app, ["runs", "--db", str(db)]).output
    assert "│ yes " in table and "…" not in table
    missing = runner.invoke(app, ["promote", "run-nope", "--db", str(db)])
    assert missing.exit_code == 2 and "no run 'run-nope'" in missing.output and "Traceback" not in missing.output
    nothing = runner.invoke(app, ["rollback", "--db", str(db)])
    assert nothing.exit_code == 2 and "no run served before" in nothing.output


def test_load_with_nothing_to_load_fails(tmp_path):
    result = runner.invoke(app, ["load", "--db", str(tmp_path / "g.db")])
    assert result.exit_code == 2 and "nothing to load" in result.output


def test_load_mapped_source_and_info(tmp_path, monkeypatch):
    if not (P2P_DIR / "User.parquet").exists():
        return
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    use_settings(None)
    db = tmp_path / "p2p.db"
    result = runner.invoke(app, ["load", "--db", str(db), "--source", str(REPO / "loaders" / "p2p.toml"),
                                 "--data-dir", str(P2P_DIR)])
    assert result.exit_code == 0, result.output
    assert "HAS_CC.parquet" in result.output and "128066" in result.output
    info = runner.invoke(app, ["info", "--db", str(db), "--top", "2"])
    assert info.exit_code == 0, info.output
    assert "118818" in info.output and "most shared card" in info.output


def test_generate_and_demo(tmp_path):
    gen = runner.invoke(app, ["generate", "--applicants", "500", "--seed", "3", "--out", str(tmp_path / "g"),
                              "--format", "csv"])
    assert gen.exit_code == 0, gen.output
    assert (tmp_path / "g" / "applications.csv").exists() and json.loads(gen.output)["applicants"] == 500
    demo = runner.invoke(app, ["demo", "--workdir", str(tmp_path / "demo"), "--applicants", "800"])
    assert demo.exit_code == 0, demo.output
    assert "what the graph holds" in demo.output and "most shared ip" in demo.output
    assert (tmp_path / "demo" / "hmac.key").stat().st_mode & 0o777 == 0o600
    key = (tmp_path / "demo" / "hmac.key").read_text()
    again = runner.invoke(app, ["demo", "--workdir", str(tmp_path / "demo"), "--applicants", "800"])
    assert again.exit_code == 0 and (tmp_path / "demo" / "hmac.key").read_text() == key
    assert "already_loaded" in again.output


def test_info_on_missing_store(tmp_path):
    result = runner.invoke(app, ["info", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no store at" in result.output


def test_info_on_a_file_that_is_not_a_store(tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(app, ["info", "--db", str(other)])
    assert result.exit_code == 2 and f"error: {other}: cannot open the store: " in " ".join(result.output.split())
    assert "file is not a database" in result.output and "Traceback" not in result.output


def test_rescore_and_its_views(scenario_db, tmp_path):
    import shutil

    db = tmp_path / "g.db"
    shutil.copy(scenario_db, db)
    result = runner.invoke(app, ["rings", "--db", str(db)])
    assert result.exit_code == 2 and "error: no re-score run yet" in result.output
    result = runner.invoke(app, ["rescore", "--db", str(db), "--seed", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["seed"] == 3 and run["counts"]["rings"] > 0
    runs = json.loads(runner.invoke(app, ["runs", "--db", str(db), "--format", "json"]).output)
    assert [r["run_id"] for r in runs] == [run["run_id"]]
    rings = json.loads(runner.invoke(app, ["rings", "--db", str(db), "--top", "3", "--format", "json"]).output)
    assert len(rings) == 3 and rings[0]["risk"] >= rings[1]["risk"] >= rings[2]["risk"]
    csv = runner.invoke(app, ["rings", "--db", str(db), "--top", "2", "--format", "csv"]).output
    assert csv.splitlines()[0].startswith("ring_id,size,risk,fraud,default,") and len(csv.splitlines()) == 3
    table = runner.invoke(app, ["rings", "--db", str(db), "--top", "2"]).output
    assert rings[0]["ring_id"] in table
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["scores", "--db", str(db), "--out", str(out), "--format", "parquet"])
    assert result.exit_code == 0, result.output
    scores = pd.read_parquet(out)
    assert len(scores) == run["counts"]["applicants"]
    top = scores.sort_values(["score", "applicant_id"], ascending=[False, True]).iloc[0]
    text = runner.invoke(app, ["explain", top["applicant_id"], "--db", str(db)]).output
    assert text.startswith(f"{top['applicant_id']}: score {top['score']} ({top['band']})")
    explained = json.loads(runner.invoke(app, ["explain", top["applicant_id"], "--db", str(db),
                                               "--format", "json"]).output)
    assert explained["run_id"] == run["run_id"] and explained["reasons"]
    result = runner.invoke(app, ["explain", "nobody", "--db", str(db)])
    assert result.exit_code == 2 and "has no score for applicant 'nobody'" in result.output


def test_backtest_command(scenario_db, scenario_dir):
    result = runner.invoke(app, ["backtest", "--db", str(scenario_db), "--as-of", "2025-03-31", "--truth",
                                 str(scenario_dir / "truth_applicants.parquet"), "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert {"auc", "precision_at_100", "recall_at_review", "ring_precision", "ring_recall", "adjusted_rand",
            "false_flag_rate"} <= set(figures)
    result = runner.invoke(app, ["backtest", "--db", str(scenario_db), "--as-of", "someday"])
    assert result.exit_code == 2 and "not an ISO 8601" in result.output
    table = runner.invoke(app, ["backtest", "--db", str(scenario_db), "--as-of", "2023-01-01", "--limit", "20"]).output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in table.splitlines() if line.count("│") == 3}
    assert rows["as_of"] == "2023-01-01T23:59:59Z" and rows["applicants"] == "20"  # a date, a count
    assert rows["fraud"] == "0" and rows["precision_at_100"] == "" and rows["auc"] == ""  # nothing to find: blank


def test_a_run_without_rings_shows_an_empty_table(scenario_db, tmp_path):
    import shutil

    db = tmp_path / "g.db"
    shutil.copy(scenario_db, db)
    result = runner.invoke(app, ["rescore", "--db", str(db), "--as-of", "2000-01-01", "--promote", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["counts"]["rings"] == 0
    result = runner.invoke(app, ["rings", "--db", str(db)])
    assert result.exit_code == 0 and "has no rings" in result.output and "ring_id" in result.output
    assert json.loads(runner.invoke(app, ["rings", "--db", str(db), "--format", "json"]).output) == []


def test_json_and_csv_list_every_ring(population, tmp_path):
    import shutil

    db = tmp_path / "g.db"
    shutil.copy(population / "graph.db", db)
    run = json.loads(runner.invoke(app, ["rescore", "--db", str(db), "--format", "json"]).output)
    assert run["counts"]["rings"] > 10  # more than a table shows
    every = runner.invoke(app, ["rings", "--db", str(db), "--format", "csv"]).output
    assert len(every.splitlines()) == 1 + run["counts"]["rings"]
    assert len(json.loads(runner.invoke(app, ["rings", "--db", str(db), "--format", "json"]).output)) == run[
        "counts"]["rings"]
    assert runner.invoke(app, ["rings", "--db", str(db)]).output.count("│ R0") == 10


@live_neo4j
def test_every_command_runs_on_neo4j(scenario_dir, tmp_path, settings, monkeypatch):
    """The commands an analyst runs, with --backend neo4j against the live server."""
    live = on_neo4j(settings)
    empty_neo4j(live)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    monkeypatch.setenv("GRAPHSVC_NEO4J_PASSWORD", live.neo4j_password.get_secret_value())
    monkeypatch.setenv("GRAPHSVC_BACKEND", "embedded")  # --backend sets it for child processes: undone after
    monkeypatch.chdir(tmp_path)  # the rejects report of a load without --db lands in the working directory
    use_settings(None)
    files = [arg for table in ("applications", "contacts", "outcomes")
             for arg in (f"--{table}", str(scenario_dir / f"{table}.parquet"))]

    def run(*args: str, backend: str = "neo4j") -> str:
        result = runner.invoke(app, ["--backend", backend, *args])
        assert result.exit_code == 0, (args, result.output)
        return result.output

    loaded = json.loads(run("load", *files, "--format", "json"))
    assert all(f["loaded"] == f["read"] - f["rejected"] - f["duplicates"] > 0 for f in loaded["files"])
    again = json.loads(run("load", *files, "--format", "json"))  # a reload is a no-op
    assert [(f["loaded"], f["already_loaded"]) for f in again["files"]] == [(0, f["read"]) for f in loaded["files"]]
    assert "applicant" in run("info")
    rescored = json.loads(run("rescore", "--seed", "1", "--format", "json"))
    assert rescored["counts"]["applicants"] == 3_000 and rescored["counts"]["rings"] >= 6
    assert [r["run_id"] for r in json.loads(run("runs", "--format", "json"))] == [rescored["run_id"]]
    past = json.loads(run("rescore", "--seed", "1", "--as-of", "2025-01-31", "--format", "json"))
    assert past["decision"] == "hold"
    listed = json.loads(run("runs", "--format", "json"))
    assert [(r["run_id"], r["served"], r["decision"]) for r in listed] == [
        (past["run_id"], False, "hold"), (rescored["run_id"], True, "promote")]
    assert past["run_id"] in run("promote", past["run_id"])
    assert f"{rescored['run_id']} (rolled back from {past['run_id']})" in run("rollback")
    rings = json.loads(run("rings", "--format", "json"))
    assert len(rings) == rescored["counts"]["rings"]
    out = tmp_path / "scores.parquet"
    run("scores", "--out", str(out), "--format", "parquet")
    scores = pd.read_parquet(out)
    top = scores.sort_values(["score", "applicant_id"], ascending=[False, True]).iloc[0]
    explained = json.loads(run("explain", top["applicant_id"], "--format", "json"))
    assert explained["score"] == top["score"] and explained["reasons"]
    lost = scenario_dir / "truth_lost_contact.parquet"
    borrower = pd.read_parquet(lost)["applicant_id"].iloc[0]
    assert json.loads(run("skiptrace", borrower, "--format", "json"))
    run("picture", "--ring", rings[0]["ring_id"], "--out", str(tmp_path / "ring.html"))
    run("report", "--out", str(tmp_path / "report.html"), "--top", "2")
    assert rings[0]["ring_id"] in (tmp_path / "report.html").read_text()
    run("features", "--out", str(tmp_path / "features.parquet"))
    assert len(pd.read_parquet(tmp_path / "features.parquet")) == 3_000
    db = str(tmp_path / "graph.db")  # the same commands on the embedded store give the same figures
    run("load", "--db", db, *files, backend="embedded")
    figures = [json.loads(run("backtest", *extra, "--as-of", "2025-03-31", "--format", "json", backend=backend))
               for backend, extra in (("neo4j", ()), ("embedded", ("--db", db)))]
    assert [f["applicants_scored"] for f in figures] == [1_829, 1_829]
    untimed = [{k: ({**v, "seconds": None} if k == "new" else v) for k, v in f.items() if k != "timings"}
               for f in figures]
    assert untimed[0] == untimed[1]
    cycles = json.loads(run("query", "investigate/shared_device_rings", "-p", "min_size=3", "-p", "max_size=50",
                            "-p", "limit=5", "--format", "json"))
    assert cycles and cycles[0]["size"] >= 3
    refused = runner.invoke(app, ["--backend", "neo4j", "replay", "--from", "2025-06-01", "--db", "unused", *files])
    assert refused.exit_code == 2 and "the store holds 3000 applicants" in refused.output
    empty_neo4j(live)  # replay builds its working store: on Neo4j, an empty database
    replayed = json.loads(run("replay", "--from", "2025-06-01", "--db", "unused", *files, "--limit", "30",
                              "--format", "json"))
    assert (replayed["applications_replayed"], replayed["refused"]) == (30, 0)


def test_serve_admits_a_session_key_of_a_known_role_only(scored_db, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **options: served.update(app=application, **options))
    result = runner.invoke(app, ["serve", "--db", str(scored_db), "--port", "8123", "--session-key", "auditor"])
    assert result.exit_code == 2 and "--session-key 'auditor': one of underwriter, investigator, collector, admin" in result.output
    assert served == {}
    result = runner.invoke(app, ["serve", "--db", str(scored_db), "--port", "8123", "--session-key", "investigator",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    key = result.output.split("(shown once): ")[1].split()[0]
    assert "console: http://127.0.0.1:8123/ui/" in result.output
    from fastapi.testclient import TestClient

    with TestClient(served["app"]) as client:
        assert client.get("/v1/me", headers={"X-API-Key": key}).json()["role"] == "investigator"
        assert client.get("/v1/me", headers={"X-API-Key": key + "x"}).status_code == 401


def test_serve_with_workers_hands_them_the_store_and_the_session_key(scored_db, monkeypatch):
    import os

    import uvicorn

    from graphsvc.api.security import digest

    seen = {}

    def run(application, **options):  # what each worker process will find in its environment
        seen.update(app=application, env={k: os.environ.get(k) for k in (
            "GRAPHSVC_SERVE_DB", "GRAPHSVC_SERVE_WORKERS", "GRAPHSVC_API_KEYS", "PROMETHEUS_MULTIPROC_DIR")}, **options)

    monkeypatch.setattr(uvicorn, "run", run)
    result = runner.invoke(app, ["serve", "--db", str(scored_db), "--session-key", "admin", "--workers", "3"])
    assert result.exit_code == 0, result.output
    key = result.output.split("(shown once): ")[1].split()[0]
    assert "· 3 workers" in result.output
    assert seen["app"] == "graphsvc.api.serving:from_environment" and seen["factory"] is True and seen["workers"] == 3
    assert seen["env"]["GRAPHSVC_SERVE_DB"] == str(scored_db.resolve()) and seen["env"]["GRAPHSVC_SERVE_WORKERS"] == "3"
    assert json.loads(seen["env"]["GRAPHSVC_API_KEYS"])[digest(key)] == {"name": "session-admin", "role": "admin"}
    assert not os.path.exists(seen["env"]["PROMETHEUS_MULTIPROC_DIR"])  # removed once the server stops
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and "GRAPHSVC_SERVE_DB" not in os.environ
