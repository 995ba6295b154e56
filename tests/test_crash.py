"""A load killed with SIGKILL at random points leaves whole batches only, and resumes."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_KEY

from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import batch_sizes, canonical_sources
from graphsvc.scenarios import TABLE_FILES
from graphsvc.settings import Settings
from graphsvc.store import open_store
from graphsvc.store.embedded import sql

BATCH = 400
COMPARED = ["applicants", "applications", "identifiers", "links", "holders", "contact_records", "outcomes"]


def _files(directory: Path) -> dict[str, Path]:
    return {t: directory / f"{t}.parquet" for t in TABLE_FILES}


def _start_load(db: Path, files: dict[str, Path], bulk: bool = False) -> subprocess.Popen:
    env = {**os.environ, "GRAPHSVC_HMAC_KEY": TEST_KEY, "GRAPHSVC_BATCH_ROWS": str(BATCH),
           "GRAPHSVC_BULK_ROWS": "1" if bulk else "100000000"}
    args = [sys.executable, "-m", "graphsvc.cli", "load", "--db", str(db), "--format", "json"]
    for table, path in files.items():
        args += [f"--{table}", str(path)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _assert_no_process_left(db: Path) -> None:
    """The killed loader's batch-reading child must end too (it would hold pipes open)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p.parent.name for p in Path("/proc").glob("[0-9]*/cmdline")
                if _reads(p, str(db)) and p.parent.name != str(os.getpid())]
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes still running after the loader was killed: {left}")


def _reads(cmdline: Path, needle: str) -> bool:
    try:
        return needle.encode() in cmdline.read_bytes()
    except OSError:  # the process ended while we looked
        return False


def _manifest(db: Path) -> pd.DataFrame:
    with closing(sql.connect(db, readonly=True)) as con:
        try:
            return sql.frame(con, "SELECT tbl, start_row, end_row FROM manifest ORDER BY tbl, start_row")
        except sql.Error:  # the store is not created yet
            return pd.DataFrame(columns=["tbl", "start_row", "end_row"])


def _dump(db: Path) -> dict:
    with closing(sql.connect(db, readonly=True)) as con:
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in COMPARED}
        out["rejects"] = con.execute("SELECT tbl, row, col, reason FROM rejects ORDER BY 1, 2, 3").fetchall()
    return out


def _starts(n: int) -> list[int]:
    """The first rows of a file's first ``n`` batches."""
    sizes = list(itertools.islice(batch_sizes(BATCH), n))
    return [1 + sum(sizes[:i]) for i in range(n)]


def _reference(files: dict[str, Path], manifest: pd.DataFrame, workdir: Path) -> dict:
    """A clean load of exactly the rows the manifest says are applied."""
    workdir.mkdir()
    done = manifest.groupby("tbl")["end_row"].max().to_dict()
    partial = {}
    for table, path in files.items():
        rows = done.get(table, 0)
        if rows:
            partial[table] = workdir / path.name
            pd.read_parquet(path).head(rows).to_parquet(partial[table])
    db = workdir / "reference.db"
    with open_store(str(db)) as store:
        if partial:
            load(store, canonical_sources(partial), settings=Settings(hmac_key=TEST_KEY, batch_rows=BATCH))
    return _dump(db)


@pytest.mark.parametrize("bulk", [False, True], ids=["batch by batch", "bulk"])
def test_sigkill_at_random_points_leaves_whole_batches_and_resumes(scenario_dir, tmp_path, bulk):
    files = _files(scenario_dir)
    db = tmp_path / "crash.db"
    rng = random.Random(20261122)
    kills = 0
    for attempt in range(6):
        process = _start_load(db, files, bulk)
        # wait until this run has applied at least one new batch, then kill at a random moment
        before = len(_manifest(db)) if db.exists() else 0
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if db.exists() and len(_manifest(db)) > before:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=120)
        _assert_no_process_left(db)
        manifest = _manifest(db)
        for _, batches in manifest.groupby("tbl"):
            starts = batches["start_row"].tolist()
            assert starts == _starts(len(starts)), "batches applied out of order"
        assert _dump(db) == _reference(files, manifest, tmp_path / f"ref{attempt}"), (
            f"after kill {attempt} the store holds more or less than its whole batches")
    assert kills >= 3, "the load finished too fast to be killed mid-way"

    final = _start_load(db, files, bulk)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    clean = tmp_path / "clean.db"
    with open_store(str(clean)) as store:
        load(store, canonical_sources(files), settings=Settings(hmac_key=TEST_KEY, batch_rows=BATCH))
    assert _dump(db) == _dump(clean)
    with open_store(str(db)) as a, open_store(str(clean)) as b:
        assert a.counts() == b.counts()


def test_a_bulk_load_leaves_what_a_batch_by_batch_load_leaves(scenario_dir, tmp_path):
    files = _files(scenario_dir)
    dumps = []
    for bulk_rows in (1, 10**9):
        db = tmp_path / f"bulk-{bulk_rows}.db"
        with open_store(str(db)) as store:
            load(store, canonical_sources(files), settings=Settings(hmac_key=TEST_KEY, batch_rows=BATCH,
                                                                    bulk_rows=bulk_rows))
        dumps.append(_dump(db))
        assert dumps[-1]["holders"] == sorted({(i, a) for a, i, *_ in dumps[-1]["links"]})
    assert dumps[0] == dumps[1]


def test_another_writer_during_a_bulk_load_is_noticed(scenario_dir, tmp_path):
    """Keys held in memory are dropped when another connection commits, so rows it
    wrote meanwhile count as duplicates instead of breaking the load."""
    files = _files(scenario_dir)
    applications = pd.read_parquet(files["applications"])
    late = tmp_path / "late.parquet"
    applications.tail(50).to_parquet(late)  # rows of the load's last batch
    db = tmp_path / "shared.db"
    settings = Settings(hmac_key=TEST_KEY, batch_rows=BATCH, bulk_rows=1)
    written = []

    def other_writer(description: str, done: int, total: int) -> None:
        if not written:
            with open_store(str(db)) as other:
                written.append(load(other, canonical_sources({"applications": late}), settings=settings))

    with open_store(str(db)) as store:
        report = load(store, canonical_sources(files), settings=settings, progress=other_writer)
    summary = report.summary().set_index("table")
    assert written[0].summary()["loaded"].tolist() == [50]
    assert summary.loc["applications", "duplicates"] == 50
    assert summary.loc["applications", "loaded"] == len(applications) - 50
    clean = tmp_path / "clean.db"
    with open_store(str(clean)) as store:
        load(store, canonical_sources(files), settings=settings)
    mine, reference = _dump(db), _dump(clean)
    assert len(mine["applications"]) == len(reference["applications"])
    assert {k: len(v) for k, v in mine.items()} == {k: len(v) for k, v in reference.items()}
