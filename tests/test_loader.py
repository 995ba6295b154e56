"""Loading canonical files: every kind of bad row, reload, duplicates, resume."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import application, write_csv
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from graphsvc.errors import ConfigurationError, ContractError, KeyCollisionError
from graphsvc.ingest import keys
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.settings import Settings
from graphsvc.store.base import QUARANTINED

GOOD = {"application_id": "AP1", "applicant_id": "A1", "applied_at": "2024-03-01T10:00:00+08:00",
        "phone": "138 0013 8000", "device_id": "dev-1", "ip": "10.0.0.1", "id_number": "11010119900307123X"}


def app(**changes):
    return {**GOOD, **changes}


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    applications = write_csv(tmp_path / "applications.csv", [
        app(),                                                     # row 1 ok
        app(application_id="AP2", applicant_id=""),                # row 2 missing applicant id
        app(application_id="AP3", applicant_id="A3", phone="12345"),  # row 3 bad phone
        app(application_id="AP4", applicant_id="A4", ip="300.1.1.1"),  # row 4 bad ip
        app(application_id="AP5", applicant_id="A5", applied_at="2024-02-30"),  # row 5 bad date
        app(application_id="AP1", phone="13900139000"),            # row 6 reused id, other content
        app(),                                                     # row 7 exact duplicate of row 1
        app(application_id="AP8", applicant_id="A8", phone="+86 139 0013 9000", device_id="dev-1",
            ip="::ffff:10.0.0.1", id_number=""),                   # row 8 ok, shares device and ip
    ])
    outcomes = write_csv(tmp_path / "outcomes.csv", [
        {"applicant_id": "A1", "outcome": "fraud", "observed_at": "2024-06-01"},
        {"applicant_id": "A8", "outcome": "stolen", "observed_at": "2024-06-01"},   # unknown outcome
        {"applicant_id": "A99", "outcome": "default", "observed_at": "2024-06-01"},  # unknown applicant
    ])
    contacts = write_csv(tmp_path / "contacts.csv", [
        {"applicant_id": "A1", "contact_phone": "13900139000", "relation": "spouse", "contact_name": "张三",
         "source": "emergency", "recorded_at": "2024-03-01"},
        {"applicant_id": "A8", "contact_phone": "138-0013-8000", "relation": "Friend", "contact_name": "李四",
         "source": "address_book", "recorded_at": "2024-03-02"},
        {"applicant_id": "A8", "contact_phone": "not-a-phone", "relation": "friend", "contact_name": "x",
         "source": "address_book", "recorded_at": "2024-03-02"},
        {"applicant_id": "A8", "contact_phone": "13700137000", "relation": "cousin", "contact_name": "y",
         "source": "emergency", "recorded_at": "2024-03-02"},
    ])
    return {"applications": applications, "contacts": contacts, "outcomes": outcomes}


def test_each_bad_row_gets_its_documented_rejection(store, bad_files):
    report = load(store, canonical_sources(bad_files))
    rejects = report.rejects[["table", "row", "column", "reason"]].sort_values(["table", "row"])
    assert rejects.values.tolist() == [
        ["applications", 2, "applicant_id", "missing_value"],
        ["applications", 3, "phone", "invalid_phone"],
        ["applications", 4, "ip", "invalid_ip"],
        ["applications", 5, "applied_at", "invalid_timestamp"],
        ["applications", 6, "application_id", "conflicting_duplicate"],
        ["contacts", 3, "contact_phone", "invalid_phone"],
        ["contacts", 4, "relation", "unknown_value"],
        ["outcomes", 2, "outcome", "unknown_value"],
    ]
    # an invalid optional field is left out and its row loads: the phone of row 3, the IP of
    # row 4, the relation of contact 4 (which becomes "other"); the report names each value by a digest
    left_out = report.rejects[report.rejects["detail"].str.startswith(QUARANTINED)]
    assert left_out[["table", "row", "column"]].values.tolist() == [
        ["applications", 3, "phone"], ["applications", 4, "ip"], ["contacts", 4, "relation"]]
    assert left_out["detail"].str.fullmatch(r".*\(value [0-9a-f]{16}\)").all()
    summary = report.summary().set_index("table")
    columns = ["read", "loaded", "duplicates", "rejected", "quarantined"]
    assert summary.loc["applications", columns].tolist() == [8, 4, 1, 3, 2]
    assert summary.loc["contacts", columns].tolist() == [4, 3, 0, 1, 1]
    assert summary.loc["outcomes", columns + ["pending"]].tolist() == [3, 1, 0, 1, 0, 1]  # A99 is not loaded yet
    assert store.pending()[["table", "rows"]].values.tolist() == [["outcomes", 1]]
    assert summary.loc["applications", "rejected_by_reason"] == (
        "conflicting_duplicate=1, invalid_ip=1, invalid_phone=1, invalid_timestamp=1, missing_value=1")
    # the rest loaded, normalised
    counts = store.counts()
    # ... and the invalid phone and IP kept as typed, as raw kinds (digits, lower-cased text)
    assert counts["nodes"] == {"applicant": 4, "device": 1, "id_number": 1, "ip": 1, "phone": 3, "raw_ip": 1,
                               "raw_phone": 1, "subnet": 1}
    assert counts["links"] == {"device:own": 4, "id_number:own": 3, "ip:own": 3, "phone:contact": 3, "phone:own": 3,
                               "raw_ip:own": 1, "raw_phone:own": 1, "subnet:own": 3}
    raw = store.applicant_links(["A3", "A4"]).query("kind.str.startswith('raw_')")
    assert sorted(zip(raw["applicant_id"], raw["kind"], raw["value"])) == [
        ("A3", "raw_phone", "12345"), ("A4", "raw_ip", "300.1.1.1")]
    assert counts["outcomes"] == {"fraud": 1}


def test_rejects_never_echo_personal_data(store, bad_files):
    report = load(store, canonical_sources(bad_files))
    text = report.rejects.to_csv(index=False)
    assert "12345" not in text and "300.1.1.1" not in text and "not-a-phone" not in text


def test_contact_links_carry_relation_name_and_source(store, bad_files):
    load(store, canonical_sources(bad_files))
    links = store.applicant_links(["A8"]).sort_values(["kind", "role"])
    contact = links[links["role"] == "contact"].iloc[0]
    assert (contact["value"], contact["relation"], contact["name"], contact["source"]) == (
        "+8613800138000", "friend", "李四", "address_book")


def test_reload_is_a_no_op(store, bad_files, tmp_path):
    load(store, canonical_sources(bad_files))
    before = _dump(store)
    again = load(store, canonical_sources(bad_files))
    assert _dump(store) == before
    summary = again.summary()
    assert summary["loaded"].sum() == 0 and summary["already_loaded"].tolist() == [8, 4, 3]


def test_same_rows_in_another_file_are_duplicates(store, bad_files, tmp_path):
    load(store, canonical_sources(bad_files))
    before = _dump(store)
    # the same rows in another order: a new checksum, so rows are recognised one by one
    reordered = {}
    for name, path in bad_files.items():
        reordered[name] = tmp_path / f"reordered-{path.name}"
        pd.read_csv(path, dtype=str).iloc[::-1].to_csv(reordered[name], index=False)
    report = load(store, canonical_sources(reordered)).summary().set_index("table")
    assert _dump(store) == before
    assert report.loc["applications", "loaded"] == 0
    assert report.loc["applications", "duplicates"] == 5  # AP1 twice, AP3 and AP4 (without their bad field), AP8
    assert report.loc["contacts", ["loaded", "duplicates", "rejected"]].tolist() == [0, 3, 1]
    assert report.loc["outcomes", ["loaded", "duplicates", "rejected"]].tolist() == [0, 2, 1]  # A99's still waits


def test_missing_required_column_refuses_the_file_before_loading(store, tmp_path):
    path = write_csv(tmp_path / "applications.csv", [{"application_id": "AP1", "applicant_id": "A1"}])
    with pytest.raises(ContractError, match="applied_at"):
        load(store, canonical_sources({"applications": path}))
    assert store.counts()["nodes"] == {"applicant": 0}


def test_loading_refuses_to_run_without_a_key(store, bad_files):
    with pytest.raises(ConfigurationError, match="GRAPHSVC_HMAC_KEY"):
        load(store, canonical_sources(bad_files), settings=Settings(hmac_key=None))
    with pytest.raises(ConfigurationError, match="at least 32"):
        load(store, canonical_sources(bad_files), settings=Settings(hmac_key="short"))
    assert store.counts()["nodes"] == {"applicant": 0}


def test_identity_numbers_are_stored_only_as_tokens(store, bad_files):
    load(store, canonical_sources(bad_files))
    raw = Path(store.path).read_bytes()
    assert b"11010119900307123X" not in raw
    tokens = store.applicant_links(["A1"])
    assert tokens.loc[tokens["kind"] == "id_number", "value"].str.len().tolist() == [64]


def test_parquet_and_csv_load_the_same(tmp_path, bad_files):
    from graphsvc.store import open_store

    parquet = {}
    for name, path in bad_files.items():
        parquet[name] = tmp_path / f"{name}.parquet"
        pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None).to_parquet(parquet[name])
    with open_store(str(tmp_path / "a.db")) as a, open_store(str(tmp_path / "b.db")) as b:
        load(a, canonical_sources(bad_files))
        load(b, canonical_sources(parquet))
        assert _dump(a) == _dump(b)


def test_extra_identifier_kinds_are_declared_per_column(store, tmp_path):
    path = write_csv(tmp_path / "applications.csv", [
        app(email="a@example.com"), app(application_id="AP2", applicant_id="A2", email="a@example.com"),
    ])
    load(store, canonical_sources({"applications": path}, kinds={"email": "email"}))
    assert store.counts()["nodes"]["email"] == 1
    assert sorted(store.identifier_links([("email", "a@example.com")])["applicant_id"]) == ["A1", "A2"]


def _dump(store) -> dict:
    con = store._con
    tables = ["applicants", "applications", "identifiers", "links", "holders", "contact_records", "outcomes",
              "relations"]
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def test_a_malformed_line_stops_with_a_clear_error_after_whole_batches(store, tmp_path, settings):
    header = "application_id,applicant_id,applied_at\n"
    good = "".join(f"P{i},A{i},2024-01-01\n" for i in range(1, 7))
    path = tmp_path / "applications.csv"
    path.write_text(header + good + 'P7,A7,2024-01-01,"extra","fields"\n' + "P8,A8,2024-01-01\n")
    small = settings.model_copy(update={"batch_rows": 3})
    with pytest.raises(ContractError, match=r"unreadable after data row 6 .*re-run to resume"):
        load(store, canonical_sources({"applications": path}), settings=small)
    assert store.counts()["facts"]["applications"] == 6


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_files_first_batches_are_smaller_and_the_rest_full(store, tmp_path, settings, suffix):
    frame = pd.DataFrame({"application_id": [f"P{i}" for i in range(1, 21)],
                          "applicant_id": [f"A{i}" for i in range(1, 21)], "applied_at": "2024-01-01"})
    path = tmp_path / f"applications.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    source = canonical_sources({"applications": path})
    load(store, source, settings=settings.model_copy(update={"batch_rows": 8}))
    batches = store.loaded_batches(source[0].checksum(), "applications")
    assert batches[["start_row", "end_row", "loaded"]].values.tolist() == [
        [1, 1, 1], [2, 3, 2], [4, 7, 4], [8, 15, 8], [16, 20, 5]]


def test_applicant_register_counts_new_and_changed_applicants(store, tmp_path):
    first = write_csv(tmp_path / "a.csv", [{"applicant_id": "A1", "segment": "x"},
                                           {"applicant_id": "A2", "segment": "y"}])
    second = write_csv(tmp_path / "b.csv", [{"applicant_id": "A1", "segment": "x"},   # unchanged
                                            {"applicant_id": "A2", "segment": "q"},   # changed
                                            {"applicant_id": "A3", "segment": "w"}])  # new
    assert load(store, canonical_sources({"applicants": first})).summary()[
        ["read", "loaded", "duplicates"]].values.tolist() == [[2, 2, 0]]
    assert load(store, canonical_sources({"applicants": second})).summary()[
        ["read", "loaded", "duplicates"]].values.tolist() == [[3, 2, 1]]
    assert store.applicants(["A2"])["properties"].tolist() == ['{"segment":"q"}']


def test_applicant_register_without_properties_counts_only_new_applicants(store, tmp_path):
    first = write_csv(tmp_path / "a.csv", [{"applicant_id": "A1"}, {"applicant_id": "A2"}])
    second = write_csv(tmp_path / "b.csv", [{"applicant_id": "A2"}, {"applicant_id": "A3"}, {"applicant_id": "A4"}])
    assert load(store, canonical_sources({"applicants": first})).summary()["loaded"].tolist() == [2]
    report = load(store, canonical_sources({"applicants": second})).summary()
    assert report[["loaded", "duplicates"]].values.tolist() == [[2, 1]]


@pytest.mark.parametrize("bulk_rows", [10**9, 1], ids=["batch by batch", "bulk"])
def test_an_identifier_hash_collision_stops_the_load_and_keeps_the_batches_before(
        store, tmp_path, settings, monkeypatch, bulk_rows):
    real = keys.identifier_ids
    monkeypatch.setattr(keys, "identifier_ids", lambda kind, values: (
        np.full(len(values), 7, dtype=np.int64) if kind == "device" else real(kind, values)))
    files = {"applications": write_csv(tmp_path / "applications.csv",
                                       [application(1, device="d1"), application(2, device="d2")])}
    with pytest.raises(KeyCollisionError, match="identifier hash collision: \\[7\\]"):
        load(store, canonical_sources(files), settings=settings.model_copy(update={"batch_rows": 1,
                                                                                   "bulk_rows": bulk_rows}))
    assert store.counts()["facts"]["applications"] == 1
    assert store.identifier_links([("device", "d1"), ("device", "d2")])["applicant_id"].tolist() == ["A001"]


def test_rows_a_mapping_filters_out_are_counted(tmp_path, store):
    """read = loaded + duplicates + rejected + filtered + already loaded, per file."""
    from graphsvc.ingest.sources import read_mapping

    write_csv(tmp_path / "events.csv", [
        {"id": "E1", "who": "U1", "at": "2024-01-01", "kind": "apply"},
        {"id": "E2", "who": "U2", "at": "2024-01-02", "kind": "login"},
        {"id": "E3", "who": "U3", "at": "soon", "kind": "apply"},
        {"id": "E4", "who": "U4", "at": "2024-01-04", "kind": "login"},
        {"id": "E1", "who": "U1", "at": "2024-01-01", "kind": "apply"},
    ])
    mapping = tmp_path / "events.toml"
    mapping.write_text('source = "events"\n[[tables]]\ntable = "applications"\nfile = "events.csv"\n'
                       'where = {kind = "apply"}\n'
                       'columns = {application_id = "id", applicant_id = "who", applied_at = "at"}\n')
    report = load(store, read_mapping(mapping, tmp_path)).files[0]
    assert (report.read, report.loaded, report.duplicates, report.rejected, report.filtered) == (5, 1, 1, 1, 2)
    assert report.read == report.loaded + report.duplicates + report.rejected + report.filtered
    again = load(store, read_mapping(mapping, tmp_path)).files[0]
    assert (again.read, again.already_loaded, again.filtered) == (5, 5, 0)


def test_invalid_optional_fields_lose_no_application(scenario_dir, scenario_db, tmp_path):
    """2% of phones, 1% of IPs and 1% of identity numbers made invalid: every application
    loads, every bad field is in the rejects report, and ring recall holds."""
    from graphsvc.analytics.backtest import ring_recovery
    from graphsvc.analytics.rescore import analyse
    from graphsvc.store import open_store

    apps = pd.read_parquet(scenario_dir / "applications.parquet")
    rng = np.random.default_rng(4)
    broken = {"phone": (0.02, "12345"), "ip": (0.01, "300.1.2.3"), "id_number": (0.01, "bad\x07id")}
    spoilt = {}
    for column, (share, junk) in broken.items():
        rows = rng.choice(np.flatnonzero(apps[column].notna().to_numpy()), int(share * len(apps)), replace=False)
        apps.loc[rows, column] = junk
        spoilt[column] = set((rows + 1).tolist())
    files = {"applications": tmp_path / "applications.parquet",
             **{t: scenario_dir / f"{t}.parquet" for t in ("contacts", "outcomes")}}
    apps.to_parquet(files["applications"], index=False)
    with open_store(str(tmp_path / "graph.db")) as store:
        report = load(store, canonical_sources(files))
        summary = report.summary().set_index("table")
        assert summary.loc["applications", "loaded"] == len(apps) and summary.loc["applications", "rejected"] == 0
        left_out = report.rejects[(report.rejects["table"] == "applications")]
        assert {c: set(left_out.loc[left_out["column"] == c, "row"]) for c in broken} == spoilt
        assert summary.loc["applications", "quarantined"] == sum(len(r) for r in spoilt.values())
        dirty = analyse(store, seed=1)
    with open_store(str(scenario_db), readonly=True) as store:
        clean = analyse(store, seed=1)
    truth = pd.read_parquet(scenario_dir / "truth_applicants.parquet")
    recall = [ring_recovery(r.ring_members, r.scores, truth)["ring_recall"] for r in (clean, dirty)]
    assert recall[1] >= recall[0] - 0.01


def test_where_compares_numbers_dates_and_lists(tmp_path, store):
    from graphsvc.errors import MappingError
    from graphsvc.ingest.sources import read_mapping

    write_csv(tmp_path / "events.csv", [
        {"id": f"E{n}", "who": f"U{n}", "at": f"2024-0{n}-01", "kind": kind, "score": score}
        for n, kind, score in [(1, "apply", "10"), (2, "apply", "700"), (3, "reapply", "80"), (4, "login", "90"),
                               (5, "apply", "n/a"), (6, "reapply", "55")]])
    mapping = tmp_path / "events.toml"
    mapping.write_text(
        'source = "events"\n[[tables]]\ntable = "applications"\nfile = "events.csv"\n'
        'where = {kind = ["apply", "reapply"], score = {">=" = 50, "<" = "600"}, at = {">=" = "2024-02-15"}}\n'
        'columns = {application_id = "id", applicant_id = "who", applied_at = "at"}\n')
    report = load(store, read_mapping(mapping, tmp_path)).files[0]
    assert (report.read, report.loaded, report.filtered) == (6, 2, 4)  # E3 and E6
    assert sorted(store.graph_arrays().applicants.tolist()) == ["U3", "U6"]
    mapping.write_text('source = "events"\n[[tables]]\ntable = "applications"\nfile = "events.csv"\n'
                       'where = {score = {"~" = 1}}\ncolumns = {application_id = "id", applicant_id = "who"}\n')
    with pytest.raises(MappingError, match="where.score takes operators"):
        read_mapping(mapping, tmp_path)


def test_generated_ids_from_row_numbers_or_content(tmp_path, store):
    """{row} numbers the data rows; {hash:...} digests columns, so the same event in
    another file (another row) gets the same id and counts as a duplicate."""
    from graphsvc.errors import MappingError
    from graphsvc.ingest.sources import read_mapping

    events = [{"who": "U1", "at": "2024-01-01"}, {"who": "U2", "at": "2024-01-02"}]
    write_csv(tmp_path / "a.csv", events)
    write_csv(tmp_path / "b.csv", [{"who": "U3", "at": "2024-01-03"}, *events])

    def mapping(file: str, template: str):
        path = tmp_path / "m.toml"
        path.write_text(f'source = "ev"\n[[tables]]\ntable = "applications"\nfile = "{file}"\n'
                        f'columns = {{applicant_id = "who", applied_at = "at"}}\n'
                        f'generated = {{application_id = "{template}"}}\n')
        return read_mapping(path, tmp_path)

    first = load(store, mapping("a.csv", "ev-{hash:who,at}")).files[0]
    again = load(store, mapping("b.csv", "ev-{hash:who,at}")).files[0]
    assert (first.loaded, again.loaded, again.duplicates) == (2, 1, 2)
    ids = sorted(store.graph_arrays().applicants.tolist())
    assert ids == ["U1", "U2", "U3"]
    by_row = load(store, mapping("b.csv", "row-{row}")).files[0]  # row numbers: new ids, same content
    assert (by_row.loaded, by_row.rejected) == (3, 0)
    with pytest.raises(MappingError, match="a template needs a placeholder"):
        mapping("a.csv", "ev-1")
    with pytest.raises(MappingError, match="unknown function\\(s\\) \\['title'\\]"):
        mapping("a.csv", "ev-{who|title}")
    with pytest.raises(MappingError, match="unbalanced braces"):
        mapping("a.csv", "ev-{who")
    with pytest.raises(ContractError, match="column 'nope' \\(of a generated value\\) not found"):
        load(store, mapping("a.csv", "ev-{hash:who,nope}"))


def test_templates_join_columns_through_functions_and_lookups_join_another_file(tmp_path, store):
    """A source whose contacts name phones by an id of another file, and whose people
    ids need a prefix and lower case: mapped with no prep script."""
    from graphsvc.errors import MappingError
    from graphsvc.ingest.sources import read_mapping

    write_csv(tmp_path / "loans.csv", [
        {"loan": "L1", "who": "Ann ", "day": "2024-01-01", "mobile": "138 0013 8000"},
        {"loan": "L2", "who": "BOB", "day": "2024-01-02", "mobile": "13800138001"}])
    write_csv(tmp_path / "phones.csv", [{"id": "ph-1", "number": "13900139000"},
                                        {"id": "ph-2", "number": "13900139001"}])
    write_csv(tmp_path / "refs.csv", [{"who": "ann", "phone_id": "ph-1"}, {"who": "bob", "phone_id": " ph-2 "},
                                      {"who": "bob", "phone_id": "ph-9"}])  # no such phone
    mapping = tmp_path / "m.toml"
    mapping.write_text('''name = "lender"
[[tables]]
table = "applications"
file = "loans.csv"
columns = { applied_at = "day", phone = "mobile" }
generated = { application_id = "{loan|lower}-{day|digits}", applicant_id = "lender-{who|strip|lower}" }

[[tables]]
table = "contacts"
file = "refs.csv"
generated = { applicant_id = "lender-{who}" }
columns = { contact_phone = "number" }
lookups = { number = { file = "phones.csv", on = "phone_id", key = "id", value = "number" } }
''')
    report = load(store, read_mapping(mapping, tmp_path))
    summary = report.summary().set_index("table")
    assert summary.loc["applications", "loaded"] == 2
    assert summary.loc["contacts", ["read", "loaded", "rejected"]].tolist() == [3, 2, 1]
    assert report.rejects.loc[report.rejects["table"] == "contacts", ["row", "reason"]].values.tolist() == [
        [3, "missing_value"]]  # ph-9 is in no row of phones.csv
    assert store.application("l1-20240101")["applicant_id"] == "lender-ann"
    links = store.applicant_links(["lender-ann", "lender-bob"]).query("role == 'contact'")
    assert sorted(zip(links["applicant_id"], links["value"])) == [
        ("lender-ann", "+8613900139000"), ("lender-bob", "+8613900139001")]
    # the look-up file's content is part of what was loaded: a changed one is a new load
    write_csv(tmp_path / "phones.csv", [{"id": "ph-1", "number": "13900139000"}, {"id": "ph-1", "number": "1"}])
    with pytest.raises(ContractError, match="look-up key 'id' repeats 'ph-1'"):
        load(store, read_mapping(mapping, tmp_path))
    mapping.write_text(mapping.read_text().replace('on = "phone_id"', 'on = "phone"'))
    with pytest.raises(ContractError, match="column 'phone' \\(the key of look-up number\\) not found"):
        load(store, read_mapping(mapping, tmp_path))
    mapping.write_text(mapping.read_text().replace('key = "id", ', ''))
    with pytest.raises(MappingError, match="lookups.number takes exactly file, key, on, value"):
        read_mapping(mapping, tmp_path)


def test_dates_outside_the_time_domain_reject_their_row_only(tmp_path, store):
    """1900-01-01 to 2100-12-31: beyond pandas' nanosecond range too, a row-level reject."""
    rows = [app(application_id=f"AP{n}", applicant_id=f"A{n}", applied_at=when)
            for n, when in enumerate(["1600-01-01", "2300-01-01T00:00:00Z", "1899-12-31T23:59:59Z",
                                      "1900-01-01T00:00:00Z", "2100-12-31T23:59:59Z", "2024-05-01"], start=1)]
    report = load(store, canonical_sources({"applications": write_csv(tmp_path / "apps.csv", rows)}))
    assert report.files[0].loaded == 3 and report.files[0].rejected == 3
    assert report.rejects[["row", "reason"]].values.tolist() == [[1, "invalid_timestamp"], [2, "invalid_timestamp"],
                                                                 [3, "invalid_timestamp"]]
    at = sorted(store.graph_arrays().application_at.tolist())
    assert at == [-2_208_988_800, 1_714_521_600, 4_133_980_799]  # read back exactly


def test_keys_with_control_or_invisible_characters_reject_their_row(tmp_path, store):
    rows = [app(application_id="AP1", applicant_id="A\u202e1"), app(application_id="AP\u200b2", applicant_id="A2"),
            app(application_id="AP3", applicant_id="A3"), app(application_id="AP4", applicant_id="A\x074")]
    contacts = [{"applicant_id": "A3\u2066", "contact_phone": "13800000001"},
                {"applicant_id": "A3", "contact_phone": "13800000002"}]
    report = load(store, canonical_sources({"applications": write_csv(tmp_path / "apps.csv", rows),
                                            "contacts": write_csv(tmp_path / "contacts.csv", contacts)}))
    assert [(f.loaded, f.rejected) for f in report.files] == [(1, 3), (1, 1)]
    assert report.rejects[["table", "row", "column", "reason"]].values.tolist() == [
        ["applications", 1, "applicant_id", "invalid_identifier"],
        ["applications", 2, "application_id", "invalid_identifier"],
        ["applications", 4, "applicant_id", "invalid_identifier"], ["contacts", 1, "applicant_id", "invalid_identifier"]]
    assert store.counts()["nodes"]["applicant"] == 1


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(-2_208_988_800, 4_133_980_799)), min_size=1, max_size=25))
@hypothesis_settings(max_examples=40, deadline=None)
def test_every_time_of_the_domain_reads_back_exactly_through_the_packed_reads(rows):
    """The store packs times in 34 bits beside positions (graph_arrays): every second
    from 1900-01-01 to 2100-12-31 comes back as written, for applications and links."""
    import tempfile
    from pathlib import Path

    from graphsvc.store import open_store

    with tempfile.TemporaryDirectory() as folder, open_store(str(Path(folder) / "g.db")) as store:
        for n, (who, at) in enumerate(rows):
            store.write_application({"application_id": f"P{n}", "applicant_id": f"A{who}", "applied_at": at,
                                     "digest": n, "id:device": f"dev-{who}"}, [], f"api-{n}")
        arrays = store.graph_arrays()
    applications = sorted(zip(arrays.applicants[arrays.application_applicant].tolist(),
                              arrays.application_at.tolist()))
    assert applications == sorted((f"A{who}", at) for who, at in rows)
    first = {}
    for who, at in rows:
        first[f"A{who}"] = min(first.get(f"A{who}", at), at)
    links = dict(zip(arrays.applicants[arrays.link_applicant].tolist(), arrays.link_first_seen.tolist()))
    assert links == first
