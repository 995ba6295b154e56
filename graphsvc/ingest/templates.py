"""What a source mapping computes row by row: generated values from templates, and
the row filters of its ``where`` tables (:mod:`graphsvc.ingest.sources` reads the mapping).

In: a template (``p2p-{who|strip|lower}-{row}``) or a ``where`` entry, and a batch of
file columns as text. Out: one value, or one bool, per row; a template or entry that
cannot be read raises before any row is.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path

import pandas as pd

from graphsvc.errors import MappingError
from graphsvc.ingest import keys

#: functions a template placeholder may apply, left to right: ``{name|strip|lower}``
FUNCTIONS = {
    "lower": lambda v: v.str.lower(),
    "upper": lambda v: v.str.upper(),
    "strip": lambda v: v.str.strip(),
    "digits": lambda v: v.str.replace(r"[^0-9]", "", regex=True),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def parse_template(template: str) -> list:
    """A template as text pieces and placeholders ``(what, columns, functions)``:
    ``what`` is ``row``, ``hash`` or ``column``. Raises ValueError for a bad one."""
    parts: list = []
    at = 0
    for found in _PLACEHOLDER.finditer(template):
        if found.start() > at:
            parts.append(template[at:found.start()])
        name, *functions = [x.strip() for x in found.group(1).split("|")]
        unknown = [f for f in functions if f not in FUNCTIONS]
        if unknown:
            raise ValueError(f"unknown function(s) {unknown}; functions: {', '.join(FUNCTIONS)}")
        if name == "row":
            parts.append(("row", (), tuple(functions)))
        elif name.startswith("hash:"):
            columns = tuple(c.strip() for c in name[len("hash:"):].split(",") if c.strip())
            if not columns:
                raise ValueError("{hash:...} names no column")
            parts.append(("hash", columns, tuple(functions)))
        elif name:
            parts.append(("column", (name,), tuple(functions)))
        else:
            raise ValueError("an empty placeholder {}")
        at = found.end()
    rest = template[at:]
    if "{" in rest or "}" in rest or any("{" in p or "}" in p for p in parts if isinstance(p, str)):
        raise ValueError("unbalanced braces")
    if rest:
        parts.append(rest)
    return parts


def render(template: str, raw: pd.DataFrame) -> pd.Series:
    """The values a ``generated`` template gives for each row of ``raw`` (file columns,
    indexed by data row number): text pieces and placeholders joined; a row where a
    named column is missing gets a missing value.

    >>> raw = pd.DataFrame({"who": ["Ann ", None]}, index=[1, 2], dtype="string")
    >>> render("p2p-{who|strip|lower}-{row}", raw).tolist()
    ['p2p-ann-1', <NA>]
    """
    out = pd.Series("", index=raw.index, dtype="string")
    for part in parse_template(template):
        if isinstance(part, str):
            out = out + part
            continue
        what, columns, functions = part
        if what == "row":
            value = pd.Series(raw.index, index=raw.index).astype("string")
        elif what == "hash":
            digest = keys.row_ids("generated-id", [raw[c].fillna("").to_numpy(object) for c in columns])
            value = pd.Series([f"{int(d):016x}" for d in digest], index=raw.index, dtype="string")
        else:
            value = raw[columns[0]].astype("string")
        for name in functions:
            value = FUNCTIONS[name](value)
        out = out + value
    return out


COMPARISONS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


def condition(path: Path, column: str, value) -> str | list[str] | dict[str, str]:
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
    from graphsvc.ingest import normalise
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
