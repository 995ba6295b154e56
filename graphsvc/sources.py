"""Reading input files as contract tables, in fixed row-range batches.

A :class:`TableSource` says how one file becomes one contract table: which source
column feeds which contract column, constant values, a row filter, values that
mean "missing", and which other columns are kept as properties. Canonical files
(the data contract itself) are sources whose mapping is the identity; the files
in ``loaders/*.toml`` declare mappings for other sources (:func:`read_mapping`).

Batches are fixed row ranges of the file, so a re-run meets the same boundaries
and the manifest can tell which are done. A file's first batches are smaller
(:func:`batch_sizes`), so that a load's writer starts early instead of waiting
for a whole first batch to be read and validated.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphsvc import keys
from graphsvc.contract import KIND_NAME, TABLES
from graphsvc.errors import ContractError, MappingError


@dataclass(frozen=True)
class TableSource:
    """One file read as one contract table."""

    table: str
    path: Path
    source: str = "canonical"
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> file column
    constants: dict[str, str] = field(default_factory=dict)
    # file column -> a value (equal), a list (one of), or {operator: bound} (all hold): see matches()
    where: dict[str, str | list[str] | dict[str, str]] = field(default_factory=dict)
    null_values: dict[str, list[str]] = field(default_factory=dict)
    properties: tuple[str, ...] | None = None  # None: every unmapped column (tables that keep them)
    kinds: dict[str, str] = field(default_factory=dict)  # applications: file column -> extra kind
    # contract column -> a template with one placeholder: {row} (the data row number) or
    # {hash:col1,col2} (a digest of those file columns: the same content, the same id)
    generated: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise MappingError(f"unknown table {self.table!r}; tables: {', '.join(TABLES)}")
        for kind in self.kinds.values():
            if not KIND_NAME.match(kind):
                raise MappingError(f"identifier kind {kind!r} must match {KIND_NAME.pattern}")
        for column, template in self.generated.items():
            if len(_PLACEHOLDER.findall(template)) != 1:
                raise MappingError(f"generated {column} = {template!r}: the template needs {{row}} or "
                                   "{hash:COLUMN,...} once")

    def hashed_columns(self) -> list[str]:
        """File columns that generated ids digest."""
        return sorted({c.strip() for t in self.generated.values() for found in _PLACEHOLDER.findall(t)
                       if found.startswith("hash:") for c in found[len("hash:"):].split(",")})

    def checksum(self) -> str:
        """Digest of the file's bytes and of this mapping (a re-mapped file is new)."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        spec = {k: v for k, v in asdict(self).items() if k != "path"}
        digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    @property
    def fmt(self) -> str:
        suffix = self.path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            return "parquet"
        if suffix in (".csv", ".txt"):
            return "csv"
        raise ContractError(f"{self.path}: unsupported format {suffix!r} (CSV or Parquet)")

    def file_columns(self) -> list[str]:
        try:
            if self.fmt == "parquet":
                return list(pq.ParquetFile(self.path).schema_arrow.names)
            return list(pd.read_csv(self.path, nrows=0, encoding="utf-8-sig").columns)
        except (OSError, ValueError) as exc:
            raise ContractError(f"{self.path}: cannot read: {exc}") from exc

    def row_count(self) -> int:
        if self.fmt == "parquet":
            return pq.ParquetFile(self.path).metadata.num_rows
        with open(self.path, "rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b""))
        return max(lines - 1, 0)

    def plan(self) -> tuple[dict[str, str], list[str], dict[str, str]]:
        """Contract column -> file column, property columns, extra-kind columns.

        Raises
        ------
        ContractError
            When a required contract column has no source.
        """
        table = TABLES[self.table]
        available = self.file_columns()
        mapping = dict(self.columns)
        if self.source == "canonical":
            mapping.update({c: c for c in table.columns if c in available and c not in mapping})
        for contract_column, file_column in mapping.items():
            if file_column not in available:
                raise ContractError(f"{self.path}: column {file_column!r} (for {contract_column}) not found")
        for column in self.where:
            if column not in available:
                raise ContractError(f"{self.path}: filter column {column!r} not found")
        for column in self.hashed_columns():
            if column not in available:
                raise ContractError(f"{self.path}: column {column!r} (of a generated id) not found")
        missing = [c for c in table.required if c not in mapping and c not in self.constants
                   and c not in self.generated]
        if missing:
            raise ContractError(f"{self.path}: {self.table} needs column(s) {', '.join(missing)}")
        kinds = dict(self.kinds)
        for column in kinds:
            if column not in available:
                raise ContractError(f"{self.path}: identifier column {column!r} not found")
        used = set(mapping.values()) | set(kinds) | set(self.where)
        if not table.keeps_properties:
            props: list[str] = []
        elif self.properties is None:
            props = [c for c in available if c not in used]
        else:
            props = list(self.properties)
        return mapping, props, kinds

    def batches(self, batch_rows: int) -> Iterator[tuple[int, int, pd.DataFrame]]:
        """Yield (first row, last row, frame) per batch; rows are 1-based data rows.

        The frame holds contract columns as strings, ``row``, extra-kind columns as
        ``kind:<name>`` and properties as a JSON ``properties`` column.
        """
        mapping, props, kinds = self.plan()
        needed = sorted(set(mapping.values()) | set(props) | set(kinds) | set(self.where) | set(self.hashed_columns()))
        start = 1
        reader = _rechunk(self._raw_batches(needed, first_batch_rows(batch_rows)), batch_sizes(batch_rows))
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return
            except (ValueError, UnicodeDecodeError, OSError, pa.ArrowException) as exc:
                raise ContractError(
                    f"{self.path}: unreadable after data row {start - 1} (rows before it are loaded; "
                    f"fix the file and re-run to resume): {exc}") from exc
            end = start + len(raw) - 1
            raw.index = pd.RangeIndex(start, end + 1)
            yield start, end, self._to_contract(raw, mapping, props, kinds)
            start = end + 1

    def _raw_batches(self, columns: list[str], batch_rows: int) -> Iterator[pd.DataFrame]:
        """The file's columns in pieces of at most ``batch_rows`` rows."""
        if self.fmt == "parquet":
            for record_batch in pq.ParquetFile(self.path).iter_batches(batch_size=batch_rows, columns=columns):
                frame = record_batch.to_pandas()
                yield frame.astype("string")
        else:
            # no usecols: with it pandas silently drops the surplus fields of a malformed line
            # the reader closes its file when a consumer stops early (an aborted load)
            with pd.read_csv(self.path, dtype=str, keep_default_na=False, na_values=[""],
                             chunksize=batch_rows, encoding="utf-8-sig") as reader:
                for frame in reader:
                    yield frame[columns]

    def _to_contract(self, raw: pd.DataFrame, mapping: dict[str, str], props: list[str],
                     kinds: dict[str, str]) -> pd.DataFrame:
        raw = raw.astype("string")
        keep = pd.Series(True, index=raw.index)
        for column, condition in self.where.items():
            keep &= matches(raw[column].str.strip(), condition)
        raw = raw[keep.fillna(False)]
        out = pd.DataFrame(index=raw.index)
        out["row"] = raw.index.to_numpy()
        for contract_column, file_column in mapping.items():
            values = raw[file_column]
            nulls = self.null_values.get(contract_column)
            if nulls:
                values = values.mask(values.str.strip().isin(nulls))
            out[contract_column] = values
        for contract_column, value in self.constants.items():
            out[contract_column] = pd.Series(value, index=raw.index, dtype="string")
        for contract_column, template in self.generated.items():  # an id from the row number or content
            found = _PLACEHOLDER.search(template)
            head, tail = template[:found.start()], template[found.end():]
            if found.group(1) == "row":
                middle = pd.Series(raw.index, index=raw.index).astype("string")
            else:
                columns = [c.strip() for c in found.group(1)[len("hash:"):].split(",")]
                digest = keys.row_ids("generated-id", [raw[c].fillna("").to_numpy(object) for c in columns])
                middle = pd.Series([f"{int(d):016x}" for d in digest], index=raw.index, dtype="string")
            out[contract_column] = head + middle + tail
        for file_column, kind in kinds.items():
            out[f"kind:{kind}"] = raw[file_column]
        if props:
            out["properties"] = _json_lines(raw[props])
        return out.reset_index(drop=True)


#: a file's first batches hold 1/8, 1/4 and 1/2 of ``batch_rows``: on a million
#: applications the writer started after 1 s instead of 8 s
RAMP = (8, 4, 2)


def first_batch_rows(batch_rows: int) -> int:
    """Rows of a file's first batch: a load of more than this has a next batch to
    prepare while the first is written."""
    return max(1, batch_rows // RAMP[0])


def batch_sizes(batch_rows: int) -> Iterator[int]:
    """Rows of each batch of a file, in order: the ramp, then ``batch_rows`` each."""
    for divisor in RAMP:
        yield max(1, batch_rows // divisor)
    while True:
        yield batch_rows


def _rechunk(pieces: Iterator[pd.DataFrame], sizes: Iterator[int]) -> Iterator[pd.DataFrame]:
    """Frames of exactly the next size each (the last may be shorter), from pieces of any size."""
    held: list[pd.DataFrame] = []
    count = 0
    wanted = next(sizes)
    for piece in pieces:
        held.append(piece)
        count += len(piece)
        while count >= wanted:
            frame = pd.concat(held, ignore_index=True) if len(held) > 1 else held[0]
            yield frame.iloc[:wanted]
            rest = frame.iloc[wanted:]
            held, count = ([rest] if len(rest) else []), len(rest)
            wanted = next(sizes)
    if count:
        yield pd.concat(held, ignore_index=True) if len(held) > 1 else held[0]


def _json_lines(frame: pd.DataFrame) -> pd.Series:
    if not len(frame):
        return pd.Series([], dtype=object)
    text = frame.to_json(orient="records", lines=True, force_ascii=False)
    return pd.Series(text.rstrip("\n").split("\n"), index=frame.index, dtype=object)


def canonical_sources(files: dict[str, Path | None], kinds: dict[str, str] | None = None) -> list[TableSource]:
    """Sources for contract files given per table (``None`` entries are skipped)."""
    sources = []
    for table, path in files.items():
        if path is None:
            continue
        extra = kinds if table == "applications" and kinds else {}
        sources.append(TableSource(table=table, path=Path(path), kinds=dict(extra or {})))
    return sources


_PLACEHOLDER = re.compile(r"\{(row|hash:[^}]+)\}")

COMPARISONS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


def _condition(path: Path, column: str, value) -> str | list[str] | dict[str, str]:
    """A ``where`` entry as read from the mapping, checked (values kept as text)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(COMPARISONS))
        if unknown or not value:
            raise MappingError(f"{path}: where.{column} takes operators {', '.join(COMPARISONS)}, got {unknown}")
        return {op: str(v) for op, v in value.items()}
    return str(value)


def matches(values: pd.Series, condition: str | list[str] | dict[str, str]) -> pd.Series:
    """Bool per value: equal to a text, one of a list, or within every ``{operator: bound}``.

    A bound that is a number compares the values as numbers, one that is an ISO date
    or time compares them as times (in ``GRAPHSVC_TIMEZONE``), any other as text; a
    value that is not a number (or a time) then matches no comparison.

    >>> matches(pd.Series(["3", "12", "x"]), {">=": "5"}).tolist()
    [False, True, False]
    """
    if isinstance(condition, str):
        return (values == condition).fillna(False)
    if isinstance(condition, list):
        return values.isin(condition).fillna(False)
    from graphsvc import normalise
    from graphsvc.settings import get_settings

    zone = get_settings().timezone
    keep = pd.Series(True, index=values.index)
    for op, bound in condition.items():
        number = pd.to_numeric(pd.Series([bound]), errors="coerce").iloc[0]
        when = normalise.timestamps(pd.Series([bound]), zone).iloc[0]
        if not pd.isna(number):
            left, right = pd.to_numeric(values, errors="coerce"), float(number)
        elif not pd.isna(when):
            left, right = normalise.timestamps(values, zone).astype("Float64"), float(when)
        else:
            left, right = values, bound
        keep &= COMPARISONS[op](left, right).fillna(False).astype(bool) & left.notna()
    return keep


def read_mapping(path: Path, data_dir: Path | None = None) -> list[TableSource]:
    """Sources declared by a ``loaders/NAME.toml`` mapping.

    Parameters
    ----------
    path : Path
        The mapping file.
    data_dir : Path, optional
        Folder of the source's files; default: the mapping's ``data_dir``, relative
        to the mapping file.

    Raises
    ------
    MappingError
        For an unreadable mapping, an unknown table or key.
    """
    try:
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
    name = spec.get("name") or Path(path).stem
    base = Path(data_dir) if data_dir else (Path(path).parent / spec.get("data_dir", ".")).resolve()
    allowed = {"table", "file", "columns", "constants", "where", "null_values", "properties", "kinds", "generated"}
    sources = []
    for entry in spec.get("tables", []):
        unknown = set(entry) - allowed
        if unknown:
            raise MappingError(f"{path}: unknown key(s) {sorted(unknown)} in a [[tables]] entry")
        if "table" not in entry or "file" not in entry:
            raise MappingError(f"{path}: every [[tables]] entry needs table and file")
        file = base / entry["file"]
        if not file.exists():
            raise MappingError(f"{path}: source file {file} not found (pass --data-dir?)")
        properties = entry.get("properties")
        sources.append(TableSource(
            table=entry["table"], path=file, source=name,
            columns=dict(entry.get("columns", {})),
            constants={k: str(v) for k, v in entry.get("constants", {}).items()},
            where={k: _condition(path, k, v) for k, v in entry.get("where", {}).items()},
            null_values={k: [str(x) for x in v] for k, v in entry.get("null_values", {}).items()},
            properties=tuple(properties) if properties is not None else None,
            kinds=dict(entry.get("kinds", {})),
            generated={k: str(v) for k, v in entry.get("generated", {}).items()},
        ))
    if not sources:
        raise MappingError(f"{path}: declares no [[tables]]")
    return sources

