"""Files at rest: the store (with its write-ahead log), rejects, exports, reports and
pictures are owner-only (0600) whatever the umask, and a file that was open to others
is narrowed before it is written."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import application, write_csv
from typer.testing import CliRunner

from graphsvc.cli import app
from graphsvc.files import private, write_frame
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.store import open_store

runner = CliRunner(env={"COLUMNS": "250"})


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)  # the usual default: new files 0644
    yield
    os.umask(previous)


def test_the_store_and_its_write_ahead_log_are_owner_only(tmp_path, open_umask):
    apps = write_csv(tmp_path / "apps.csv", [application(1), application(2), {**application(3), "applied_at": "x"}])
    db = tmp_path / "graph.db"
    with open_store(str(db)) as store:
        report = load(store, canonical_sources({"applications": apps}))
        assert {p.name: mode(p) for p in tmp_path.glob("graph.db*")} == {
            "graph.db": 0o600, "graph.db-wal": 0o600, "graph.db-shm": 0o600}
    rejects = report.write_rejects(tmp_path / "out" / "rejects.csv")
    assert mode(rejects) == 0o600 and "invalid_timestamp" in rejects.read_text()
    assert mode(apps) == 0o644  # the umask still holds for files graphsvc does not write


def test_exports_reports_and_pictures_are_owner_only(scored_db, tmp_path, open_umask):
    import shutil

    db = tmp_path / "graph.db"
    shutil.copy(scored_db, db)
    os.chmod(db, 0o644)
    outputs = {"scores.csv": ["scores", "--db", str(db), "--out", str(tmp_path / "scores.csv")],
               "features.parquet": ["features", "--db", str(db), "--out", str(tmp_path / "features.parquet")],
               "lost.csv": ["skiptrace", "--db", str(db), "--all-lost-contact", "--out", str(tmp_path / "lost.csv")],
               "report.html": ["report", "--db", str(db), "--out", str(tmp_path / "report.html"), "--top", "1"],
               "ring.html": ["picture", "--db", str(db), "--ring", "R000001", "--out", str(tmp_path / "ring.html")],
               "ring.graphml": ["picture", "--db", str(db), "--ring", "R000001",
                                "--out", str(tmp_path / "ring.graphml")]}
    for name, args in outputs.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (name, result.output)
    assert {name: mode(tmp_path / name) for name in outputs} == {name: 0o600 for name in outputs}
    assert mode(db) == 0o644  # read only: left as it was
    open_store(str(db)).close()
    assert mode(db) == 0o600  # opened for writing: narrowed


def test_an_existing_file_is_narrowed_before_it_is_written(tmp_path, open_umask):
    target = tmp_path / "old.csv"
    target.write_text("left over\n")
    os.chmod(target, 0o666)
    import pandas as pd

    write_frame(pd.DataFrame({"a": [1]}), target)
    assert mode(target) == 0o600 and target.read_text() == "a\n1\n"
    assert mode(private(tmp_path / "new" / "file")) == 0o600
    with pytest.raises(ValueError, match="write .parquet or .csv"):
        write_frame(pd.DataFrame(), tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
