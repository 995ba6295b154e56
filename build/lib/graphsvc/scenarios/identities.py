"""Synthetic personal identifiers: phones, identity numbers, devices, IPs, names.

Everything is drawn in bulk from a numpy Generator, so a seed fixes the output.
Phones are kept as integers (11-digit Chinese mobiles, 10-digit 400 hotlines)
until written, when they are spelled in the mixed formats real files carry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Mobile prefixes that phonenumbers accepts for China whatever the other digits.
MOBILE_PREFIXES = np.array([130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153,
                            155, 156, 157, 158, 159, 166, 176, 177, 178, 180, 181, 182, 183, 184,
                            185, 186, 187, 188, 189, 191, 198, 199], dtype=np.int64)
SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"))
GIVEN = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉红志云飞鹏辉宇浩然欣怡子涵"))
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))
_REGIONS = np.array([110101, 310104, 440305, 330106, 320102, 510107, 420106, 610113, 370102, 500103])


def unique_ints(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers in [low, high), in random order."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        draw = rng.integers(low, high, size=int((n - len(out)) * 1.05) + 16)
        out = np.unique(np.concatenate([out, draw]))
    return rng.permutation(out)[:n]


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid Chinese mobile numbers as 11-digit integers."""
    codes = unique_ints(rng, 0, len(MOBILE_PREFIXES) * 100_000_000, n)
    return MOBILE_PREFIXES[codes // 100_000_000] * 100_000_000 + codes % 100_000_000


def hotlines(rng: np.random.Generator, n: int) -> np.ndarray:
    """Customer-service 400 numbers (10 digits), as listed in many address books."""
    return 4_000_000_000 + unique_ints(rng, 0, 10_000_000, n)


def spell_phones(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """Phone integers as the strings applicants type, in mixed formats."""
    text = pd.Series(numbers.astype(np.int64)).astype(str)
    out = text.to_numpy(object).copy()
    mobile = numbers >= 10_000_000_000
    style = rng.choice(5, size=len(numbers), p=[0.62, 0.14, 0.12, 0.07, 0.05])
    head, mid, tail = text.str[:3], text.str[3:7], text.str[7:]
    variants = {
        1: "+86" + text,
        2: head + " " + mid + " " + tail,
        3: "+86 " + head + "-" + mid + "-" + tail,
        4: "0086 " + text,
    }
    for code, spelled in variants.items():
        pick = mobile & (style == code)
        out[pick] = spelled[pick].to_numpy(object)
    hot = ~mobile
    out[hot] = (text[hot].str[:3] + "-" + text[hot].str[3:6] + "-" + text[hot].str[6:]).to_numpy(object)
    return out


def e164(numbers: np.ndarray) -> np.ndarray:
    """Canonical E.164 strings of phone integers (what the loader stores)."""
    return ("+86" + pd.Series(numbers.astype(np.int64)).astype(str)).to_numpy(object)


def identity_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct 18-character resident identity numbers with a valid check character."""
    serial = unique_ints(rng, 0, 10 ** 9, n)
    region = _REGIONS[rng.integers(0, len(_REGIONS), n)]
    birth = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 43 * 365, n), unit="D")
    body = (pd.Series(region).astype(str) + pd.Series(birth.strftime("%Y%m%d"))
            + pd.Series(serial % 1000).astype(str).str.zfill(3))
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return (body + check).to_numpy(object)


def device_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct device identifiers (UUID-shaped)."""
    high = unique_ints(rng, 0, 2 ** 62, n)
    low = rng.integers(0, 2 ** 62, n)
    h = pd.Series(high).map("{:016x}".format)
    lo = pd.Series(low).map("{:016x}".format)
    return (h.str[:8] + "-" + h.str[8:12] + "-" + h.str[12:16] + "-" + lo.str[:4] + "-" + lo.str[4:16]).to_numpy(object)


def public_ipv4(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct public-looking IPv4 addresses as integers."""
    return unique_ints(rng, 0x24000000, 0x7C000000, n)  # 36.0.0.0 - 123.255.255.255


def spell_ipv4(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.int64)
    parts = [pd.Series((v >> shift) & 255).astype(str) for shift in (24, 16, 8, 0)]
    return (parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3]).to_numpy(object)


def names(rng: np.random.Generator, surnames: np.ndarray) -> np.ndarray:
    """Given names appended to the given surname indexes."""
    n = len(surnames)
    first = GIVEN[rng.integers(0, len(GIVEN), n)]
    second = np.where(rng.random(n) < 0.6, GIVEN[rng.integers(0, len(GIVEN), n)], "")
    return (pd.Series(SURNAMES[surnames]) + first + second).to_numpy(object)


def iso_local(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as ISO 8601 local time in China (+08:00), as lenders export them."""
    local = (np.asarray(seconds, dtype=np.int64) + 8 * 3600).astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(local, unit="s"), "+08:00").astype(object)


class Allocator:
    """Hands out distinct phones and public IPs, so no two draws ever collide."""

    def __init__(self, rng: np.random.Generator, people: int) -> None:
        self._phones = mobiles(rng, people * 4 + 10_000)
        self._ips = public_ipv4(rng, people + 10_000)
        self._next = {"phone": 0, "ip": 0}

    def _take(self, pool: np.ndarray, name: str, k: int) -> np.ndarray:
        start = self._next[name]
        if start + k > len(pool):
            raise RuntimeError(f"scenario ran out of distinct {name}s")
        self._next[name] = start + k
        return pool[start:start + k]

    def phones(self, k: int) -> np.ndarray:
        return self._take(self._phones, "phone", k)

    def ips(self, k: int) -> np.ndarray:
        return self._take(self._ips, "ip", k)
