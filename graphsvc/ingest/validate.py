"""Row validation: raw contract frames in, normalised valid rows and rejects out.

Every check marks rows bad with a :class:`~graphsvc.ingest.contract.RejectReason`; a row with
any problem is rejected whole (all its problems are reported) and the rest of the
batch goes on. Rejects never carry the raw value of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphsvc.errors import ConfigurationError
from graphsvc.ingest import keys, normalise
from graphsvc.ingest.contract import (
    APPLICATION_IDENTIFIER_COLUMNS,
    CONSENT_SCOPES,
    DERIVED_KINDS,
    KIND_NAME,
    RAW_KINDS,
    TABLES,
    Kind,
    RejectReason,
)
from graphsvc.store.base import QUARANTINED, REJECT_COLUMNS

TIMESTAMP_DETAIL = "not an ISO 8601 date or timestamp between 1900-01-01 and 2100-12-31"
KEY_DETAIL = "{} is over 256 characters or holds control or invisible characters"
CONSENT_DETAIL = f"consents must name scopes among: {', '.join(CONSENT_SCOPES)} (or none)"


@dataclass
class Context:
    """What normalisation needs from the settings."""

    identity_key: bytes | None  # None: the files carry no identity numbers (and no key was needed)
    region: str = "CN"
    timezone: str = "UTC"


@dataclass
class _Checker:
    frame: pd.DataFrame
    problems: list[pd.DataFrame] = field(default_factory=list)
    bad: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.bad = np.zeros(len(self.frame), dtype=bool)

    def mark(self, mask: np.ndarray | pd.Series, column: str, reason: RejectReason, detail: str) -> None:
        """Reject the rows under ``mask`` whole (their key or a required field is unusable)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.problems.append(pd.DataFrame({
                "row": self.frame["row"].to_numpy()[mask], "column": column,
                "reason": str(reason), "detail": detail,
            }))
            self.bad |= mask

    def quarantine(self, mask: np.ndarray | pd.Series, column: str, reason: RejectReason, detail: str,
                   raw: pd.Series) -> None:
        """Report the optional field under ``mask`` as left out (the caller leaves it
        empty); the row loads without it. The report names the value by a digest."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            digests = [f"{h:016x}" for h in keys.salted("left-out-value", raw[mask].astype(str).to_numpy(object))]
            self.problems.append(pd.DataFrame({
                "row": self.frame["row"].to_numpy()[mask], "column": column, "reason": str(reason),
                "detail": [f"{QUARANTINED}{detail} (value {d})" for d in digests],
            }))

    def text(self, column: str, *, required: bool) -> pd.Series:
        """Trimmed text; empty becomes missing."""
        if column not in self.frame:
            values = pd.Series(pd.NA, index=self.frame.index, dtype="string")
        else:
            values = self.frame[column].astype("string").str.strip()
            values = values.mask(values == "")
        if required:
            self.mark(values.isna(), column, RejectReason.MISSING_VALUE, f"{column} is required")
        return values

    def key(self, column: str) -> pd.Series:
        """A required key (an applicant or application id): trimmed, and rejecting its
        row when it holds control or invisible characters or is too long."""
        return self.normalised(column, normalise.plain_ids, RejectReason.INVALID_IDENTIFIER, KEY_DETAIL.format(column),
                               required=True)

    def normalised(self, column: str, convert, reason: RejectReason, detail: str, *, required: bool) -> pd.Series:
        """The column's canonical values; an invalid value rejects its row when the field
        is required, and is left out (quarantined) when it is optional."""
        return self._normalised(column, convert, reason, detail, required=required)[0]

    def left_out(self, column: str, convert, reason: RejectReason, detail: str) -> tuple[pd.Series, pd.Series]:
        """An optional column's canonical values (as :meth:`normalised`), and the trimmed
        text of the values it left out (missing for every other row)."""
        out, raw, invalid = self._normalised(column, convert, reason, detail, required=False)
        return out, raw.where(invalid)

    def _normalised(self, column: str, convert, reason: RejectReason, detail: str, *, required: bool):
        raw = self.text(column, required=required)
        out = convert(raw)
        invalid = raw.notna() & pd.Series(out, index=raw.index).isna()
        if required:
            self.mark(invalid, column, reason, detail)
        else:
            self.quarantine(invalid, column, reason, detail, raw)
        return out, raw, invalid

    def choice(self, column: str, allowed: tuple[str, ...], *, required: bool, default: str | None = None) -> pd.Series:
        raw = self.text(column, required=required)
        out = normalise.choices(raw, allowed)
        invalid, detail = raw.notna() & out.isna(), f"{column} must be one of: {', '.join(allowed)}"
        if required:
            self.mark(invalid, column, RejectReason.UNKNOWN_VALUE, detail)
        else:
            self.quarantine(invalid, column, RejectReason.UNKNOWN_VALUE, detail, raw)
        return out.where(out.notna(), default) if default is not None else out

    def result(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        rejects = (pd.concat(self.problems, ignore_index=True) if self.problems
                   else pd.DataFrame(columns=REJECT_COLUMNS))
        return rows.loc[~self.bad].reset_index(drop=True), rejects


def application_digest(content: list, extras: list) -> np.ndarray:
    """The content digest of applications: of ``content`` (applicant, time, canonical
    identifiers in kind order, properties), followed by the ``extras`` a row holds
    (invalid values kept as raw kinds in kind order, then stated consents), so that
    other junk or other consents are other content, a row without them keeps the
    digest it always had, and a row's digest never depends on what the other rows
    of its batch hold."""
    digest = keys.row_ids("application-content", content)
    if not extras:
        return digest
    held = np.column_stack([~pd.isna(np.asarray(e, dtype=object)) for e in extras])
    if len(held) == 1:  # one application (score-on-write): its own pattern
        patterns, which = held, np.zeros(1, dtype=np.int64)
    else:
        patterns, which = np.unique(held, axis=0, return_inverse=True)
    for code, pattern in enumerate(patterns):
        if pattern.any():
            rows = np.flatnonzero(which.ravel() == code)
            picked = [np.asarray(c, dtype=object)[rows] for c in content]
            picked += [np.asarray(e, dtype=object)[rows] for e, h in zip(extras, pattern) if h]
            digest[rows] = keys.row_ids("application-content", picked)
    return digest


def _key(ctx: Context) -> bytes:
    if ctx.identity_key is None:  # never tokenise with no key
        raise ConfigurationError("identity numbers met in a load that declared none: set GRAPHSVC_HMAC_KEY")
    return ctx.identity_key


def identifier_rule(kind: str, ctx: Context):
    """How to normalise one identifier kind, and the rejection when it fails."""

    def convert(values: pd.Series) -> pd.Series:
        return normalise.identifiers(kind, values, region=ctx.region, identity_key=lambda: _key(ctx))

    if kind == Kind.PHONE:
        return convert, RejectReason.INVALID_PHONE, f"not a valid phone number (default region {ctx.region})"
    if kind == Kind.IP:
        return convert, RejectReason.INVALID_IP, "not an IPv4 or IPv6 address"
    if kind == Kind.ID_NUMBER:
        return (convert, RejectReason.INVALID_IDENTIFIER,
                "identity number is empty, too long or holds control characters")
    return convert, RejectReason.INVALID_IDENTIFIER, \
        "identifier is empty, longer than 256 characters or holds control characters"


def _timestamp(check: _Checker, column: str, ctx: Context, *, required: bool) -> pd.Series:
    return check.normalised(column, lambda s: normalise.timestamps(s, ctx.timezone),
                            RejectReason.INVALID_TIMESTAMP, TIMESTAMP_DETAIL,
                            required=required)


def prepare(table: str, frame: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate and normalise a contract frame of ``table``.

    Returns
    -------
    rows, rejects : DataFrame, DataFrame
        Valid rows in the store's batch layout, and one reject per problem
        (columns ``row, column, reason, detail``).
    """
    check = _Checker(frame)
    out = pd.DataFrame({"row": frame["row"].to_numpy()})
    if table in ("applicants", "applications", "identifiers", "contacts", "outcomes"):
        out["applicant_id"] = check.key("applicant_id")
    if "properties" in frame and TABLES[table].keeps_properties:
        out["properties"] = frame["properties"].to_numpy(object)

    if table == "applications":
        out["application_id"] = check.key("application_id")
        out["applied_at"] = _timestamp(check, "applied_at", ctx, required=True)
        columns = {c: str(k) for c, k in APPLICATION_IDENTIFIER_COLUMNS.items()}
        columns.update({c: c[len("kind:"):] for c in frame.columns if c.startswith("kind:")})
        raw: dict[str, pd.Series] = {}
        for column, kind in columns.items():
            convert, reason, detail = identifier_rule(kind, ctx)
            out[f"id:{kind}"], typed = check.left_out(column, convert, reason, detail)
            if kind in RAW_KINDS and typed.notna().any():  # the invalid ones, kept as their raw kind
                raw[RAW_KINDS[kind]] = normalise.raws(kind, typed, lambda: _key(ctx))
        out["consents"] = check.normalised("consents", lambda s: normalise.consents(s, CONSENT_SCOPES),
                                           RejectReason.UNKNOWN_VALUE, CONSENT_DETAIL, required=False)
        content = [out["applicant_id"], out["applied_at"]] + [out[c] for c in sorted(out) if c.startswith("id:")]
        if "properties" in out:
            content.append(out["properties"])
        out["digest"] = application_digest(content, [raw[k] for k in sorted(raw)] + [out["consents"]])
        for kind, values in raw.items():
            out[f"id:{kind}"] = values
        for derived, origin in DERIVED_KINDS.items():
            out[f"id:{derived}"] = normalise.subnets(out[f"id:{origin}"])
    elif table == "identifiers":
        kind = check.text("kind", required=True).str.lower()
        check.mark(kind.notna() & ~kind.fillna("").str.match(KIND_NAME.pattern), "kind",
                   RejectReason.UNKNOWN_KIND, f"kind must match {KIND_NAME.pattern}")
        raw = check.text("value", required=True)
        value = pd.Series(None, index=frame.index, dtype=object)
        for name in kind.dropna().unique():
            part = (kind == name).fillna(False).to_numpy()
            convert, reason, detail = identifier_rule(str(name), ctx)
            converted = convert(raw[part])
            value[part] = converted.to_numpy(object)
            check.mark(part & raw.notna().to_numpy() & value.isna().to_numpy(), "value", reason, detail)
        out["kind"], out["value"] = kind, value
        out["observed_at"] = _timestamp(check, "observed_at", ctx, required=False)
        rows, rejects = check.result(out)
        for derived, origin in DERIVED_KINDS.items():
            picked = rows[rows["kind"] == str(origin)]
            rows = pd.concat([rows, picked.assign(kind=str(derived), value=normalise.subnets(picked["value"]))],
                             ignore_index=True)
        return rows, rejects
    elif table == "contacts":
        convert, reason, detail = identifier_rule(Kind.PHONE, ctx)
        out["contact_phone"] = check.normalised("contact_phone", convert, reason, detail, required=True)
        out["relation"] = check.choice("relation", TABLES[table].choices["relation"], required=False, default="other")
        out["source"] = check.choice("source", TABLES[table].choices["source"], required=False)
        out["contact_name"] = check.text("contact_name", required=False)
        out["recorded_at"] = _timestamp(check, "recorded_at", ctx, required=False)
    elif table == "outcomes":
        out["outcome"] = check.choice("outcome", TABLES[table].choices["outcome"], required=True)
        out["observed_at"] = _timestamp(check, "observed_at", ctx, required=False)
        convert, reason, detail = identifier_rule(Kind.PHONE, ctx)
        out["phone"] = check.normalised("phone", convert, reason, detail, required=False)
    elif table == "relations":
        out["src_applicant_id"] = check.key("src_applicant_id")
        out["dst_applicant_id"] = check.key("dst_applicant_id")
        kind = check.text("type", required=True).str.lower()
        check.mark(kind.notna() & ~kind.fillna("").str.match(KIND_NAME.pattern), "type",
                   RejectReason.UNKNOWN_VALUE, f"type must match {KIND_NAME.pattern}")
        out["type"] = kind
        out["at"] = _timestamp(check, "at", ctx, required=False)
        raw = check.text("amount", required=False)
        out["amount"] = normalise.numbers(raw)
        check.quarantine(raw.notna() & out["amount"].isna(), "amount", RejectReason.INVALID_NUMBER,
                         "amount is not a number", raw)
    return check.result(out)
