"""Loading sources into a store: validate, normalise, apply in atomic batches.

Tables load in :data:`~graphsvc.ingest.contract.LOAD_ORDER` so references resolve. Each
batch (a fixed row range of one file) is applied with its manifest row in one
transaction; batches already in the manifest are skipped, so re-running a load
after a crash finishes it, and re-running a finished load changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from graphsvc.background import ahead
from graphsvc.files import write_frame
from graphsvc.ingest.contract import LOAD_ORDER
from graphsvc.ingest.sources import TableSource, first_batch_rows
from graphsvc.ingest.validate import Context, prepare
from graphsvc.people import erasure
from graphsvc.settings import Settings, get_settings
from graphsvc.store.base import Batch, BatchOrigin, BatchResult, Store, quarantined, rejected_rows

Progress = Callable[[str, int, int], None]  # (description, rows done so far, rows in all)


@dataclass
class FileReport:
    """What loading one file as one table did."""

    source: str
    table: str
    file: str
    checksum: str
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    already_loaded: int = 0  # rows of batches an earlier run applied (skipped now)
    filtered: int = 0  # rows a mapping's ``where`` left out
    pending: int = 0  # rows kept until their applicant is loaded (``graphsvc info`` counts those waiting)
    attached: int = 0  # rows of earlier loads that waited for an applicant this file brought
    quarantined: int = 0  # invalid optional fields left out of rows that loaded (in the rejects report)
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What a load did, per file, plus every rejected row."""

    files: list[FileReport]
    rejects: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([
            {"table": f.table, "file": Path(f.file).name, "read": f.read, "loaded": f.loaded,
             "duplicates": f.duplicates, "rejected": f.rejected, "quarantined": f.quarantined,
             "filtered": f.filtered, "pending": f.pending, "attached": f.attached,
             "already_loaded": f.already_loaded,
             "rejected_by_reason": ", ".join(f"{k}={v}" for k, v in sorted(f.by_reason.items()))}
            for f in self.files
        ])

    def write_rejects(self, path: Path) -> Path:
        return write_frame(self.rejects, path, "csv")


def load(store: Store, sources: list[TableSource], *, settings: Settings | None = None,
         progress: Progress | None = None) -> LoadReport:
    """Load ``sources`` into ``store``.

    Raises
    ------
    ContractError
        Before anything is written, when a file cannot be read as its table.
    ConfigurationError
        Before anything is written, when no HMAC key is set and a file carries identity
        numbers (an ``id_number`` column or kind, or an identifiers table).
    """
    settings = settings or get_settings()
    ordered = sorted(sources, key=lambda s: LOAD_ORDER.index(s.table))
    plans = [source.plan() for source in ordered]  # refuse unreadable files and missing columns up front
    identity_numbers = any(s.table == "identifiers" or "id_number" in mapping or "id_number" in kinds.values()
                           for s, (mapping, _, kinds) in zip(ordered, plans))
    ctx = Context(identity_key=settings.identity_key() if identity_numbers else None,
                  region=settings.default_region, timezone=settings.timezone)
    checksums = [s.checksum() for s in ordered]
    total = sum(s.row_count() for s in ordered)
    done = 0

    def advance(description: str, rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress(description, done, total)

    reports = [FileReport(source=s.source, table=s.table, file=str(s.path), checksum=c)
               for s, c in zip(ordered, checksums)]
    done_starts = [set(store.loaded_batches(c, s.table)["start_row"].tolist()) for s, c in zip(ordered, checksums)]

    batch_rows = min(settings.batch_rows, store.max_batch_rows or settings.batch_rows)
    tombstones = store.tombstones()  # what erased people left is never loaded again
    key = settings.identity_key() if tombstones else b""

    def prepared() -> Iterator[tuple[int, int, int, int, tuple[pd.DataFrame, pd.DataFrame] | None]]:
        # one producer for all files, so the next file's first batch is ready in time
        for index, source in enumerate(ordered):
            for start, end, frame in source.batches(batch_rows):
                todo = None
                if start not in done_starts[index]:
                    rows, rejects = prepare(source.table, frame, ctx)
                    staged, extras = store.stage(source.table, rows)
                    staged, forgotten = erasure.screen(source.table, staged, tombstones, key, extras)
                    if len(forgotten):
                        rejects = pd.concat([rejects, forgotten], ignore_index=True)
                    todo = (staged, extras), rejects
                yield index, start, end, len(frame), todo

    with store.bulk(total) if total >= settings.bulk_rows else nullcontext():
        parallel = total > first_batch_rows(batch_rows)
        for index, start, end, rows_read, todo in ahead(prepared, parallel=parallel):
            source, report = ordered[index], reports[index]
            report.read += end - start + 1
            if todo is None:
                report.already_loaded += end - start + 1
            else:
                report.filtered += end - start + 1 - rows_read
                origin = BatchOrigin(source=source.source, file=str(source.path), checksum=report.checksum,
                                     table=source.table, start_row=start, end_row=end, rows_read=rows_read)
                staged, prepared = todo[0]
                _count(report, store.apply(Batch(origin=origin, rows=staged, rejects=todo[1], prepared=prepared)))
            advance(f"{source.table} ← {source.path.name}", end - start + 1)
    rejects = [store.rejects(r.checksum, r.table).assign(table=r.table) for r in reports]
    rejects = [r for r in rejects if len(r)]
    columns = ["file", "table", "row", "column", "reason", "detail"]
    frame = pd.concat(rejects, ignore_index=True)[columns] if rejects else pd.DataFrame(columns=columns)
    return LoadReport(files=reports, rejects=frame)


def _count(report: FileReport, result: BatchResult) -> None:
    report.loaded += result.loaded
    report.duplicates += result.duplicates
    report.pending += result.pending
    report.attached += sum(result.attached.values())
    if len(result.rejects):
        report.rejected += rejected_rows(result.rejects)
        report.quarantined += int(quarantined(result.rejects).sum())
        per_row = result.rejects.drop_duplicates(["row", "reason"])
        for reason, n in per_row["reason"].value_counts().items():
            report.by_reason[reason] = report.by_reason.get(reason, 0) + int(n)
