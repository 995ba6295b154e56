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
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphsvc.errors import ContractError, MappingError
from graphsvc.ingest import templates
from graphsvc.ingest.contract import KIND_NAME, TABLES
from graphsvc.ingest.templates import matches, parse_template, render


@dataclass(frozen=True)
class TableSource:
    """One file read as one contract table."""

    table: str
    path: Path
    source: str = "canonical"
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> file column
    constants: dict[str, str] = field(default_factory=dict)
    # file column -> a value (equal), a list (one of), or {operator: bound} (all hold): see templates.matches()
    where: dict[str, str | list[str] | dict[str, str]] = field(default_factory=dict)
    null_values: dict[str, list[str]] = field(default_factory=dict)
    properties: tuple[str, ...] | None = None  # None: every unmapped column (tables that keep them)
    kinds: dict[str, str] = field(default_factory=dict)  # applications: file column -> extra kind
    # contract column -> a template (:func:`render`): text with {row} (the data row number),
    # {hash:col1,col2} (a digest of those columns: the same content, the same id) and
    # {col} or {col|lower|digits...} (a column's value, through functions)
    generated: dict[str, str] = field(default_factory=dict)
    # a column added from another file of the source: name -> Lookup (a look-up join)
    lookups: dict[str, Lookup] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise MappingError(f"unknown table {self.table!r}; tables: {', '.join(TABLES)}")
        for kind in self.kinds.values():
            if not KIND_NAME.match(kind):
                raise MappingError(f"identifier kind {kind!r} must match {KIND_NAME.pattern}")
        for column, template in self.generated.items():
            try:
                parts = parse_template(template)
            except ValueError as exc:
                raise MappingError(f"generated {column} = {template!r}: {exc}") from None
            if not any(isinstance(part, tuple) for part in parts):
                raise MappingError(f"generated {column} = {template!r}: a template needs a placeholder "
                                   "({row}, {hash:COLUMN,...} or {COLUMN}); a fixed value is a constant")

    def template_columns(self) -> list[str]:
        """Columns that generated values read."""
        return sorted({c for t in self.generated.values() for part in parse_template(t)
                       if isinstance(part, tuple) for c in part[1]})

    def checksum(self) -> str:
        """Digest of the file's bytes and of this mapping (a re-mapped file is new)."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        spec = {k: v for k, v in asdict(self).items() if k != "path"}
        digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
        for lookup in self.lookups.values():  # a changed look-up file changes what the rows say
            digest.update(lookup.checksum().encode())
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
        in_file = self.file_columns()
        for name, lookup in self.lookups.items():
            if name in in_file:
                raise ContractError(f"{self.path}: look-up {name!r} would hide the file's own column of that name")
            if lookup.on not in in_file:
                raise ContractError(f"{self.path}: column {lookup.on!r} (the key of look-up {name}) not found")
            lookup.check()
        available = in_file + list(self.lookups)
        mapping = dict(self.columns)
        if self.source == "canonical":
            mapping.update({c: c for c in table.columns if c in available and c not in mapping})
        for contract_column, file_column in mapping.items():
            if file_column not in available:
                raise ContractError(f"{self.path}: column {file_column!r} (for {contract_column}) not found")
        for column in self.where:
            if column not in available:
                raise ContractError(f"{self.path}: filter column {column!r} not found")
        for column in self.template_columns():
            if column not in available:
                raise ContractError(f"{self.path}: column {column!r} (of a generated value) not found")
        missing = [c for c in table.required if c not in mapping and c not in self.constants
                   and c not in self.generated]
        if missing:
            raise ContractError(f"{self.path}: {self.table} needs column(s) {', '.join(missing)}")
        kinds = dict(self.kinds)
        for column in kinds:
            if column not in available:
                raise ContractError(f"{self.path}: identifier column {column!r} not found")
        used = set(mapping.values()) | set(kinds) | set(self.where) | {lk.on for lk in self.lookups.values()}
        if not table.keeps_properties:
            props: list[str] = []
        elif self.properties is None:
            props = [c for c in in_file if c not in used]
        else:
            props = list(self.properties)
        return mapping, props, kinds

    def batches(self, batch_rows: int) -> Iterator[tuple[int, int, pd.DataFrame]]:
        """Yield (first row, last row, frame) per batch; rows are 1-based data rows.

        The frame holds contract columns as strings, ``row``, extra-kind columns as
        ``kind:<name>`` and properties as a JSON ``properties`` column.
        """
        mapping, props, kinds = self.plan()
        needed = set(mapping.values()) | set(props) | set(kinds) | set(self.where) | set(self.template_columns())
        needed = sorted((needed - set(self.lookups)) | {lk.on for lk in self.lookups.values()})
        tables = {name: lookup.table() for name, lookup in self.lookups.items()}
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
            for name, lookup in self.lookups.items():
                raw[name] = raw[lookup.on].astype("string").str.strip().map(tables[name]).astype("string")
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
        for contract_column, template in self.generated.items():  # ids, prefixed or joined values
            out[contract_column] = render(template, raw)
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


@dataclass(frozen=True)
class Lookup:
    """A look-up join: the ``value`` column of another file of the source, on the row
    whose ``key`` equals this file's ``on`` column (trimmed; no match gives a missing
    value; a key repeated in the look-up file is refused)."""

    file: Path
    on: str
    key: str
    value: str

    @property
    def source(self) -> TableSource:
        """The look-up file, read as any source file is."""
        return TableSource(table="applicants", path=self.file)

    def check(self) -> None:
        columns = self.source.file_columns()
        for column in (self.key, self.value):
            if column not in columns:
                raise ContractError(f"{self.file}: column {column!r} (of a look-up) not found")

    def checksum(self) -> str:
        return self.source.checksum()

    def table(self) -> pd.Series:
        """Value by key (read once per load)."""
        columns = [self.key, self.value]
        try:
            pieces = list(self.source._raw_batches(columns, 1_000_000))
        except (ValueError, UnicodeDecodeError, OSError, pa.ArrowException) as exc:
            raise ContractError(f"{self.file}: cannot read: {exc}") from exc
        frame = (pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=columns)).astype("string")
        keys_ = frame[self.key].str.strip()
        repeated = keys_[keys_.duplicated() & keys_.notna()]
        if len(repeated):
            raise ContractError(f"{self.file}: look-up key {self.key!r} repeats {repeated.iloc[0]!r} "
                                f"({repeated.nunique()} keys repeat); a look-up needs one row per key")
        return pd.Series(frame[self.value].to_numpy(object), index=keys_.to_numpy(object))


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
    allowed = {"table", "file", "columns", "constants", "where", "null_values", "properties", "kinds", "generated",
               "lookups"}
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
        lookups = {}
        for name, spec_ in entry.get("lookups", {}).items():
            wanted = {"file", "on", "key", "value"}
            if not isinstance(spec_, dict) or set(spec_) != wanted:
                raise MappingError(f"{path}: lookups.{name} takes exactly {', '.join(sorted(wanted))}")
            other = base / spec_["file"]
            if not other.exists():
                raise MappingError(f"{path}: look-up file {other} not found (pass --data-dir?)")
            lookups[name] = Lookup(other, str(spec_["on"]), str(spec_["key"]), str(spec_["value"]))
        sources.append(TableSource(
            table=entry["table"], path=file, source=name,
            columns=dict(entry.get("columns", {})),
            constants={k: str(v) for k, v in entry.get("constants", {}).items()},
            where={k: templates.condition(path, k, v) for k, v in entry.get("where", {}).items()},
            null_values={k: [str(x) for x in v] for k, v in entry.get("null_values", {}).items()},
            properties=tuple(properties) if properties is not None else None,
            kinds=dict(entry.get("kinds", {})),
            generated={k: str(v) for k, v in entry.get("generated", {}).items()},
            lookups=lookups,
        ))
    if not sources:
        raise MappingError(f"{path}: declares no [[tables]]")
    return sources

