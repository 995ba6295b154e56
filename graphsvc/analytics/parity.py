"""Do two stores hold the same graph and give the same answers?

Run after loading the same files into the embedded store and Neo4j (or after
moving a lender from one to the other) and re-scoring both with the same seed:
:func:`compare` lists every difference in what an investigator or an underwriter
would see. Ring ids are minted per store, so rings are compared by membership.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphsvc.service import Service

TOLERANCE = 1e-6  # GDS PageRank stops on a per-node tolerance (docs/neo4j.md)


@dataclass
class Parity:
    """What was compared (``checked``: counts per aspect) and how it differed."""

    checked: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences

    def differ(self, aspect: str, detail: str) -> None:
        self.differences.append(f"{aspect}: {detail}")


def compare(first: Service, second: Service, *, sample: int = 50) -> Parity:
    """Compare counts, hubs, rings (by membership), scores, reasons, ring features,
    explanations and skip-trace answers of the two stores' served runs.

    ``sample`` applicants (the highest scored, then ring members and lost-contact
    borrowers, the same on both sides) are explained and skip-traced on both.
    """
    parity = Parity()
    _counts(first, second, parity)
    _hubs(first, second, parity)
    rings = _rings(first, second, parity)
    scores = _scores(first, second, parity)
    picked = _sample(scores, first.lost_contact(), sample)
    _explanations(first, second, picked, rings, parity)
    _skiptraces(first, second, [a for a in first.lost_contact()][:sample] or picked, parity)
    return parity


def _counts(first: Service, second: Service, parity: Parity) -> None:
    a, b = first.counts(), second.counts()
    parity.checked["counts"] = sum(len(v) for v in a.values())
    for group in sorted(set(a) | set(b)):
        if a.get(group, {}) != b.get(group, {}):
            parity.differ("counts", f"{group} {a.get(group)} != {b.get(group)}")


def _hubs(first: Service, second: Service, parity: Parity) -> None:
    columns = ["kind", "value", "role", "degree", "fraud", "verdict"]
    a = first.hubs()[columns].sort_values(columns[:3], ignore_index=True)
    b = second.hubs()[columns].sort_values(columns[:3], ignore_index=True)
    parity.checked["hubs"] = len(a)
    merged = a.merge(b, on=columns[:3], how="outer", suffixes=("", "_2"), indicator=True)
    for row in merged[merged["_merge"] != "both"].itertuples():
        parity.differ("hubs", f"{row.kind} {row.value} ({row.role}) only in the {_side(row._merge)} store")
    both = merged[merged["_merge"] == "both"]
    for column in columns[3:]:
        for row in both[both[column] != both[f"{column}_2"]].itertuples():
            parity.differ("hubs", f"{row.kind} {row.value}: {column} {getattr(row, column)!r} != "
                                  f"{getattr(row, column + '_2')!r}")


def _members(service: Service) -> dict[frozenset, str]:
    """Each ring of the served run as its member set, to its ring id."""
    members = service.store.run_table(service.run_id(), "ring_members")
    return {frozenset(group["applicant_id"]): str(ring) for ring, group in members.groupby("ring_id")}


def _rings(first: Service, second: Service, parity: Parity) -> dict[str, str]:
    """Rings matched by identical membership: first store's ring id to the second's."""
    a, b = _members(first), _members(second)
    parity.checked["rings"] = len(a)
    for members in a.keys() - b.keys():
        parity.differ("rings", f"{len(members)} members {sorted(members)[:5]} form a ring only in the first store")
    for members in b.keys() - a.keys():
        parity.differ("rings", f"{len(members)} members {sorted(members)[:5]} form a ring only in the second store")
    matched = {a[m]: b[m] for m in a.keys() & b.keys()}
    features_a = first.rings().set_index("ring_id")
    features_b = second.rings().set_index("ring_id")
    for ring, other in sorted(matched.items()):
        for column in features_a.columns:
            x, y = features_a.at[ring, column], features_b.at[other, column]
            if not _equal(x, y):
                parity.differ("ring features", f"ring of {features_a.at[ring, 'size']} ({ring}/{other}): "
                                               f"{column} {x!r} != {y!r}")
    return matched


def _scores(first: Service, second: Service, parity: Parity) -> pd.DataFrame:
    a, b = first.scores(), second.scores()
    merged = a.merge(b, on="applicant_id", how="outer", suffixes=("", "_2"), indicator=True)
    parity.checked["scores"] = len(merged)
    for row in merged[merged["_merge"] != "both"].head(20).itertuples():
        parity.differ("scores", f"{row.applicant_id} scored only in the {_side(row._merge)} store")
    both = merged[merged["_merge"] == "both"]
    for column in ("score", "band"):
        wrong = both[both[column] != both[f"{column}_2"]]
        for row in wrong.head(20).itertuples():
            parity.differ("scores", f"{row.applicant_id}: {column} {getattr(row, column)!r} != "
                                    f"{getattr(row, column + '_2')!r}")
        if len(wrong) > 20:
            parity.differ("scores", f"... and {len(wrong) - 20} more applicants with another {column}")
    codes = both.assign(codes=both["reasons"].map(_codes), codes_2=both["reasons_2"].map(_codes))
    wrong = codes[codes["codes"] != codes["codes_2"]]
    for row in wrong.head(20).itertuples():
        parity.differ("reasons", f"{row.applicant_id}: {row.codes} != {row.codes_2}")
    return both.sort_values(["score", "applicant_id"], ascending=[False, True], ignore_index=True)


def _sample(scores: pd.DataFrame, lost: list[str], size: int) -> list[str]:
    top = scores["applicant_id"].head(size // 2).tolist()
    members = scores.loc[scores["ring_id"].notna(), "applicant_id"].tolist()
    return list(dict.fromkeys(top + members[: size // 4] + lost[: size // 4]))[:size]


def _explanations(first: Service, second: Service, applicants: list[str], rings: dict[str, str],
                  parity: Parity) -> None:
    parity.checked["explanations"] = len(applicants)
    for applicant in applicants:
        a, b = first.explain(applicant), second.explain(applicant)
        a, b = {k: v for k, v in a.items() if k != "run_id"}, {k: v for k, v in b.items() if k != "run_id"}
        if a.get("ring_id") is not None:  # ring and run ids are the stores' own: compare the matched ring
            a["ring_id"] = rings.get(a["ring_id"], a["ring_id"])
        if json.dumps(_rounded(a), sort_keys=True, default=str) != json.dumps(_rounded(b), sort_keys=True, default=str):
            parity.differ("explanations", f"{applicant}: {_first_difference(_rounded(a), _rounded(b))}")


def _skiptraces(first: Service, second: Service, applicants: list[str], parity: Parity) -> None:
    parity.checked["skip-traces"] = len(applicants)
    for applicant in applicants:
        a, b = first.skiptrace(applicant), second.skiptrace(applicant)
        x, y = _rounded(a.to_dict("records")), _rounded(b.to_dict("records"))
        if json.dumps(x, sort_keys=True, default=str) != json.dumps(y, sort_keys=True, default=str):
            parity.differ("skip-traces", f"{applicant}: {_first_difference(x, y)}")


def _codes(reasons: object) -> tuple[str, ...]:
    if not isinstance(reasons, str):
        return ()
    return tuple(sorted(r["code"] for r in json.loads(reasons)))


def _equal(x: object, y: object) -> bool:
    if isinstance(x, float | np.floating) and isinstance(y, float | np.floating):
        return bool(np.isclose(x, y, rtol=0, atol=TOLERANCE) or (np.isnan(x) and np.isnan(y)))
    return bool(x == y)


def _rounded(value: object) -> object:
    """Floats to 6 places, NaN to None, recursively: what the two engines may differ by."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _first_difference(a: object, b: object, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{n}]")
    return f"{path or 'value'} {str(a)[:200]} != {str(b)[:200]}"


def _side(merge: str) -> str:
    return "first" if merge == "left_only" else "second"
