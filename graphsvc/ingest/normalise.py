"""Canonical forms of identifiers and timestamps, computed once per distinct value.

Each function takes a pandas Series of raw strings and returns a Series of the same
index holding the canonical value, or missing where the raw value is missing or
invalid (callers tell the two apart by the input). Work is done on distinct values
only: a million applicants carry millions of phone strings but far fewer distinct
ones.

Phones
    E.164 via ``phonenumbers`` (the authority). Chinese mobile numbers, the bulk of
    the input, take a fast path: their validity depends only on the leading
    digits, so ``phonenumbers`` is asked once per five-digit prefix instead of
    once per number. ``tests/test_normalise.py`` checks with hypothesis that both
    paths agree.
IPs
    ``ipaddress``; IPv4-mapped IPv6 is folded to IPv4; IPv6 is compressed.
Identity numbers
    Never kept in clear: HMAC-SHA256 under the deployment's key, hex encoded,
    after trimming and upper-casing.
Timestamps
    ISO 8601; values without an offset are read in the configured time zone.
    Stored as integer seconds since the epoch (UTC).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers

from graphsvc.errors import InputError

_SEPARATORS = r"[\s\-().\u3000]"
_CN_EXPLICIT = r"^(?:\+86|0086)(1[3-9][0-9]{9})$"
_CN_BARE = r"^(1[3-9][0-9]{9})$"
# control characters (C0, DEL, C1) and invisible or direction-changing format characters
# (zero-width, bidi embeddings and overrides, BOM): never part of an identifier
_INVISIBLE = "\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_PRINTABLE_ID = re.compile(f"^[^{_INVISIBLE}]{{1,256}}$")  # 1 to 256 characters, none of them


def _per_distinct(values: pd.Series, convert) -> pd.Series:
    """Apply ``convert`` (distinct values -> canonical array) and broadcast back."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    canonical = np.asarray(convert(pd.Series(uniques, dtype="string")), dtype=object)
    out = np.empty(len(values), dtype=object)
    present = codes >= 0
    out[present] = canonical[codes[present]]
    out[~present] = None
    return pd.Series(out, index=values.index, dtype=object)


def phone_one(raw: str, region: str) -> str | None:
    """Canonical E.164 form of one phone number by ``phonenumbers``, or ``None`` if invalid."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_CN_PREFIX_DIGITS = 5  # CN mobile validity is decided by at most the first five digits
_cn_prefix_valid: dict[str, bool] = {}


_SERVICE_TYPES = {
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.SHARED_COST,  # China's 400 numbers
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
}


@lru_cache(maxsize=65_536)  # asked again for the same numbers on every scoring near them
def is_service_number(e164: str) -> bool:
    """Whether a canonical phone is a business service line (toll-free, shared-cost,
    universal access), which belongs to no person however many lists carry it."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None)) in _SERVICE_TYPES
    except phonenumbers.NumberParseException:
        return False


def _cn_mobile_prefix_valid(prefixes: pd.Series) -> dict[str, bool]:
    for prefix in prefixes.unique():
        if prefix not in _cn_prefix_valid:
            probe = f"+86{prefix}{'0' * (11 - _CN_PREFIX_DIGITS)}"
            _cn_prefix_valid[prefix] = phone_one(probe, "CN") is not None
    return _cn_prefix_valid


def phones(values: pd.Series, region: str = "CN") -> pd.Series:
    """E.164 phone numbers; invalid or unparseable values become missing.

    Examples
    --------
    >>> phones(pd.Series(["138 0013 8000", "+86-138-0013-8000", "12"])).tolist()
    ['+8613800138000', '+8613800138000', None]
    """

    def convert(uniques: pd.Series) -> np.ndarray:
        cleaned = uniques.str.replace(_SEPARATORS, "", regex=True)
        national = cleaned.str.extract(_CN_EXPLICIT, expand=False)
        if region == "CN":
            national = national.fillna(cleaned.str.extract(_CN_BARE, expand=False))
        fast = national.notna().to_numpy()
        result = np.empty(len(uniques), dtype=object)
        if fast.any():
            fast_national = national[fast]
            prefix = fast_national.str[:_CN_PREFIX_DIGITS]
            valid = prefix.map(_cn_mobile_prefix_valid(prefix)).to_numpy(dtype=bool)
            result[fast] = np.where(valid, ("+86" + fast_national).to_numpy(object), None)
        slow_positions = np.flatnonzero(~fast)
        slow_values = uniques.to_numpy(object)[slow_positions]
        result[slow_positions] = [phone_one(v, region) for v in slow_values]
        return result

    return _per_distinct(values, convert)


def _ip_one(raw: str) -> str | None:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def ips(values: pd.Series) -> pd.Series:
    """Canonical IP addresses; invalid values become missing.

    Examples
    --------
    >>> ips(pd.Series(["::ffff:10.0.0.1", " 10.0.0.1 ", "2001:DB8::0:1", "300.1.1.1"])).tolist()
    ['10.0.0.1', '10.0.0.1', '2001:db8::1', None]
    """
    return _per_distinct(values, lambda u: [_ip_one(v) for v in u.to_numpy(object)])


def subnet_one(ip: str | None) -> str | None:
    """The network an applicant's canonical IP sits in: IPv4 /24, IPv6 /64."""
    if ip is None:
        return None
    if ":" not in ip:
        head, _, _ = ip.rpartition(".")
        return f"{head}.0/24"
    return ipaddress.ip_network(f"{ip}/64", strict=False).compressed


def subnets(ips_: pd.Series) -> pd.Series:
    """Subnets of canonical IP addresses (:func:`subnet_one`); missing stays missing.

    Examples
    --------
    >>> subnets(pd.Series(["10.0.0.1", "2001:db8::1", None])).tolist()
    ['10.0.0.0/24', '2001:db8::/64', None]
    """
    return _per_distinct(ips_, lambda u: [subnet_one(v) for v in u.to_numpy(object)])


def plain_id(raw: str) -> str | None:
    """One trimmed opaque identifier, or None when empty, over 256 characters or
    holding control characters."""
    trimmed = raw.strip()
    return trimmed if _PRINTABLE_ID.match(trimmed) else None


def plain_ids(values: pd.Series) -> pd.Series:
    """Trimmed opaque identifiers (devices, cards, declared kinds): :func:`plain_id`
    per distinct value."""
    return _per_distinct(values, lambda u: [plain_id(v) for v in u.to_numpy(object)])


def identity_token(raw: str, key: bytes) -> str | None:
    """Keyed HMAC-SHA256 token of one identity number (spaces dropped, upper case)."""
    canonical = re.sub(r"\s+", "", raw).upper()
    if not _PRINTABLE_ID.match(canonical):
        return None
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def identity_tokens(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed HMAC-SHA256 tokens of identity numbers (never stored in clear)."""
    return _per_distinct(values, lambda u: [identity_token(v, key) for v in u.to_numpy(object)])


_UNPRINTABLE = re.compile(f"[{_INVISIBLE}]")
_SPACES = re.compile(r"\s+")


def raw_one(kind: str, raw: str, identity_key: Callable[[], bytes]) -> str | None:
    """An invalid value of ``kind`` as its raw kind keeps it (``RAW_KINDS``), so that
    the same junk typed by several applicants links them: a phone's ASCII digits (its
    lower-cased text when it has none), an IP's lower-cased text without spaces, an
    identity number's keyed HMAC token (never kept in clear); control and invisible
    characters dropped, at most 256 characters; None when nothing is left.

    >>> raw_one("phone", "138-0013-80", lambda: b"")
    '138001380'
    """
    text = _SPACES.sub(" ", _UNPRINTABLE.sub("", raw)).strip()
    if kind == "id_number":
        return identity_token(text, identity_key()) if text else None
    if kind == "phone":
        text = "".join(re.findall(r"[0-9]", text)) or text.lower()
    else:
        text = text.replace(" ", "").lower()
    return text[:256] or None


def raws(kind: str, values: pd.Series, identity_key: Callable[[], bytes]) -> pd.Series:
    """:func:`raw_one` per distinct value (missing stays missing)."""
    return _per_distinct(values, lambda u: [raw_one(kind, v, identity_key) for v in u.to_numpy(object)])


_HAS_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"


#: the one time domain of the service: a timestamp outside it is invalid, for the loader
#: and the API alike (the store packs times in 34 bits of seconds around 2000)
EARLIEST, LATEST = -2_208_988_800, 4_133_980_799  # 1900-01-01T00:00:00Z, 2100-12-31T23:59:59Z


def timestamps(values: pd.Series, timezone: str = "UTC") -> pd.Series:
    """ISO 8601 timestamps as integer epoch seconds (UTC); invalid ones, and those
    outside 1900-01-01 to 2100-12-31 (:data:`EARLIEST`, :data:`LATEST`), become missing.

    Examples
    --------
    >>> timestamps(pd.Series(["2024-01-02", "2024-01-02T08:00:00+08:00", "2024-13-01"])).tolist()
    [1704153600, 1704153600, None]
    """

    def convert(uniques: pd.Series) -> np.ndarray:
        text = uniques.str.strip()
        aware = text.str.contains(_HAS_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
        seconds = np.full(len(text), np.nan)
        if aware.any():
            parsed = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
            seconds[aware] = _epoch_seconds(parsed)
        if (~aware).any():
            parsed = pd.to_datetime(text[~aware], format="ISO8601", errors="coerce")
            parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
            seconds[~aware] = _epoch_seconds(parsed)
        seconds[(seconds < EARLIEST) | (seconds > LATEST)] = np.nan
        return np.array([None if np.isnan(s) else int(s) for s in seconds], dtype=object)

    return _per_distinct(values, convert)


def _epoch_seconds(parsed: pd.Series) -> np.ndarray:
    as_utc = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    # whole seconds, never nanoseconds: a year such as 2300 overflows nanoseconds since 1970
    seconds = as_utc.astype("datetime64[s]").to_numpy().astype("int64").astype(float)
    seconds[parsed.isna().to_numpy()] = np.nan
    return seconds


def choices(values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Lower-cased, trimmed enumerated values; anything not allowed becomes missing."""
    lowered = values.astype("string").str.strip().str.lower()
    return lowered.where(lowered.isin(allowed)).astype(object).where(lambda s: s.notna(), None)


def consent_one(raw: str | None, allowed: tuple[str, ...]) -> str | None:
    """Consent scopes as stated (``address_book``, ``address_book; marketing``, any
    case, separated by commas, semicolons or spaces) in canonical form: the scopes
    sorted and comma-joined, ``""`` for ``none`` (stated: none granted), None when
    missing or when it names a scope outside ``allowed`` (invalid)."""
    if raw is None:
        return None
    scopes = {s for s in re.split(r"[\s,;|]+", str(raw).strip().lower()) if s}
    if scopes == {"none"}:
        return ""
    if not scopes or not scopes <= set(allowed):
        return None
    return ",".join(sorted(scopes))


def consents(values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """:func:`consent_one` over a column (computed once per distinct text)."""
    return _per_distinct(values, lambda uniques: [consent_one(u, allowed) for u in uniques])


def numbers(values: pd.Series) -> pd.Series:
    """Decimal numbers; unparseable values become missing."""
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce")


def parse_as_of(text: str | None, timezone: str = "UTC") -> int | None:
    """ISO date or timestamp as epoch seconds; a bare date means its end (23:59:59)."""
    if text is None:
        return None
    value = timestamps(pd.Series([text]), timezone).iloc[0]
    if value is None or value != value:
        raise InputError(f"as_of {text!r} is not an ISO 8601 date or timestamp between 1900-01-01 and 2100-12-31")
    return int(value) + (86_399 if len(text.strip()) == 10 else 0)


def format_timestamp(seconds: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC text (``2024-01-02T00:00:00Z``); missing
    (None or NaN, as store frames hold it) stays None."""
    if seconds is None or seconds != seconds:
        return None
    return pd.Timestamp(int(seconds), unit="s").strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO_SIMPLE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?$")


def timestamp_one(raw: str, timezone: str = "UTC") -> int | None:
    """One ISO 8601 timestamp as epoch seconds, as :func:`timestamps` reads it.

    The common shapes are parsed directly (the API's per-request path); anything
    else goes through :func:`timestamps` itself.
    """
    text = raw.strip()
    if not _ISO_SIMPLE.match(text):
        value = timestamps(pd.Series([raw], dtype=object), timezone).iloc[0]
        return None if value is None else int(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        zone = ZoneInfo(timezone)
        early, late = parsed.replace(tzinfo=zone, fold=0), parsed.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            return None  # ambiguous or non-existent local time, as timestamps() rejects it
        parsed = early
    seconds = math.floor(parsed.timestamp())
    return seconds if EARLIEST <= seconds <= LATEST else None


def identifier_one(kind: str, raw: str, *, region: str, identity_key: Callable[[], bytes]) -> str | None:
    """Canonical value of one identifier, as :func:`identifiers` gives it."""
    if kind == "phone":
        return phone_one(raw, region)
    if kind == "ip":
        return _ip_one(raw)
    if kind == "id_number":
        return identity_token(raw, identity_key())
    return plain_id(raw)


def identifiers(kind: str, values: pd.Series, *, region: str, identity_key: Callable[[], bytes]) -> pd.Series:
    """Canonical values of one identifier kind: the normaliser the kind calls for.

    ``identity_key`` is called only for identity numbers, so other kinds need no key.
    """
    if kind == "phone":
        return phones(values, region)
    if kind == "ip":
        return ips(values)
    if kind == "id_number":  # the key only when there is a number to tokenise
        return identity_tokens(values, identity_key() if values.notna().any() else b"")
    return plain_ids(values)
