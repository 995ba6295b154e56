import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsvc.ingest import normalise

CASES = json.loads((Path(__file__).parent / "data" / "normalise_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("raw", "expected"), CASES["phones_cn"])
def test_phone_golden_cases(raw, expected):
    assert normalise.phones(pd.Series([raw]), "CN").tolist() == [expected]


@pytest.mark.parametrize(("raw", "expected"), CASES["ips"])
def test_ip_golden_cases(raw, expected):
    assert normalise.ips(pd.Series([raw])).tolist() == [expected]


def test_missing_stays_missing_and_order_is_kept():
    out = normalise.phones(pd.Series(["138 0013 8000", None, "12345", "13800138000"]))
    assert out.tolist() == ["+8613800138000", None, None, "+8613800138000"]


def test_bare_mobile_needs_cn_region():
    assert normalise.phones(pd.Series(["13800138000"]), "US").tolist() == [None]
    assert normalise.phones(pd.Series(["+8613800138000"]), "US").tolist() == ["+8613800138000"]


spelled_mobile = st.tuples(
    st.sampled_from(["", "+86", "0086", "+86 ", "86"]),
    st.from_regex(r"1[0-9]{10}", fullmatch=True),
    st.sampled_from(["plain", "spaced", "dashed"]),
).map(lambda t: t[0] + {"plain": t[1], "spaced": f"{t[1][:3]} {t[1][3:7]} {t[1][7:]}",
                        "dashed": f"{t[1][:3]}-{t[1][3:7]}-{t[1][7:]}"}[t[2]])


@settings(max_examples=400, deadline=None)
@given(st.lists(spelled_mobile, min_size=1, max_size=20))
def test_fast_path_agrees_with_phonenumbers(raws):
    # phone_one asks phonenumbers for every value: the reference for the fast path
    assert normalise.phones(pd.Series(raws), "CN").tolist() == [normalise.phone_one(r, "CN") for r in raws]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+- ()", max_size=16), max_size=10))
def test_phones_are_idempotent_and_canonical(raws):
    once = normalise.phones(pd.Series(raws, dtype=object), "CN")
    present = [v for v in once if v is not None]
    assert normalise.phones(pd.Series(present, dtype=object), "CN").tolist() == present
    assert all(v.startswith("+") and v[1:].isdigit() for v in present)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.ip_addresses(), st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}")))
def test_ips_are_idempotent_and_fold_mapped(address):
    once = normalise.ips(pd.Series([str(address)])).iloc[0]
    assert once is not None and not once.startswith("::ffff:")
    assert normalise.ips(pd.Series([once])).iloc[0] == once


def test_identity_tokens_are_keyed_and_canonical():
    key_a, key_b = b"a" * 32, b"b" * 32
    tokens = normalise.identity_tokens(pd.Series(["11010119900307123x", " 11010119900307123X "]), key_a)
    assert tokens.iloc[0] == tokens.iloc[1] and len(tokens.iloc[0]) == 64
    assert "110101" not in tokens.iloc[0]
    other = normalise.identity_tokens(pd.Series(["11010119900307123X"]), key_b)
    assert other.iloc[0] != tokens.iloc[0]


def test_timestamps():
    out = normalise.timestamps(pd.Series(["2024-01-02", "2024-01-02T08:00:00+08:00", "2024-01-02 00:00:00Z",
                                          "2024-02-30", "yesterday", None]))
    assert out.tolist() == [1704153600, 1704153600, 1704153600, None, None, None]
    shanghai = normalise.timestamps(pd.Series(["2024-01-02T08:00:00"]), "Asia/Shanghai")
    assert shanghai.tolist() == [1704153600]
    assert normalise.format_timestamp(1704153600) == "2024-01-02T00:00:00Z"


def test_plain_ids():
    out = normalise.plain_ids(pd.Series(["  dev-1 ", "", "a\x00b", "x" * 257, "设备"]))
    assert out.tolist() == ["dev-1", None, None, None, "设备"]


@given(st.datetimes(min_value=__import__("datetime").datetime(1950, 1, 1),
                    max_value=__import__("datetime").datetime(2090, 1, 1)),
       st.sampled_from(["date", "minutes", "seconds", "micros"]),
       st.sampled_from(["", "Z", "+08:00", "-05:30"]),
       st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Europe/London"]))
@settings(max_examples=300, deadline=None)
def test_one_timestamp_reads_as_the_vectorised_path(moment, precision, offset, zone):
    text = {"date": moment.strftime("%Y-%m-%d"), "minutes": moment.strftime("%Y-%m-%dT%H:%M"),
            "seconds": moment.strftime("%Y-%m-%dT%H:%M:%S"),
            "micros": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")}[precision]
    if precision != "date":
        text += offset
    expected = normalise.timestamps(pd.Series([text]), zone).iloc[0]
    assert normalise.timestamp_one(text, zone) == expected


@pytest.mark.parametrize("kind,raw", [
    ("phone", "138 0013 8000"), ("phone", "+86 10 6234 5678"), ("phone", "12"), ("ip", "::ffff:10.0.0.1"),
    ("ip", "300.1.1.1"), ("device", "  dev-1 "), ("device", "bad\x01"), ("id_number", "1101 0119 9001 011234"),
    ("id_number", ""), ("card", "4111-1111")])
def test_one_identifier_reads_as_the_vectorised_path(kind, raw):
    key = lambda: b"k" * 32  # noqa: E731
    expected = normalise.identifiers(kind, pd.Series([raw]), region="CN", identity_key=key).iloc[0]
    assert normalise.identifier_one(kind, raw, region="CN", identity_key=key) == expected
