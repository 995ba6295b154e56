"""A scorecard fitted on the lender's own outcomes: binned graph features, logistic regression.

:func:`fit` takes every applicant known at a date, labels it by the fraud
outcomes observed by then, and computes its features (:mod:`graphsvc.analytics.features`)
as of its own first application, so nothing it learns looks ahead. Each feature
is cut into a few bins from its training quantiles; one logistic regression on
the bins' indicators gives every bin its weight, and a Platt scaling fitted on
cross-fitted (out-of-fold) predictions turns the sum into a calibrated fraud
probability. Being additive, the model explains itself exactly: a feature's
points are what its bin adds to the log-odds over the feature's average bin,
and a reason family's points are how much the probability would fall without
that family's features (:meth:`Model.explain`).

The library is scikit-learn's ``LogisticRegression`` (lbfgs, L2). Measured on
the repository's data (``benchmarks/model.py``), gradient-boosted trees
(scikit-learn's ``HistGradientBoostingClassifier``) on the same features gave no
better AUC and no exact per-feature points, so the additive model is kept.

With fewer than :data:`MIN_POSITIVES` fraud labels (or as many non-fraud
applicants) :func:`fit` refuses (:class:`~graphsvc.errors.ModelError`) and the
hand-set policy stays in force.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from graphsvc.analytics import features as features_
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.errors import ConfigurationError, ModelError

MIN_POSITIVES = 50  # fraud labels needed to fit (and as many applicants without one)
NEGATIVES_PER_POSITIVE = 50  # a fit samples at most this many other applicants per fraud label
FOLDS = 4
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99)
MIN_BIN_SHARE = 0.002  # a bin holds at least this share of the training rows (and 10 of them)

#: reason families: which features each groups, by prefix (the rest: HISTORY)
FAMILIES = {
    "DEVICE": ("device_",),
    "NETWORK": ("ip_", "subnet_"),
    "CONTACT": ("contact", "listed_by", "listing"),
    "GROUP": ("linked_",),
    "RELATIONS": ("relation_",),
    "HISTORY": ("applications",),
}


def family_of(name: str) -> str:
    """The reason family of a feature: the prefixes above, identifiers otherwise."""
    for family, prefixes in FAMILIES.items():
        if name.startswith(prefixes):
            return family
    return "IDENTITY"


@dataclass
class Model:
    """A fitted scorecard (JSON-serialisable)."""

    model_id: str
    created_at: str
    as_of: int | None  # labels observed by then; features as of each applicant's first application
    maturity_days: int
    seed: int
    features: list[str]
    edges: dict[str, list[float]]  # per feature: bin upper edges (a value goes to the first edge >= it)
    weights: dict[str, list[float]]  # per feature: log-odds weight of each bin
    mean_weight: dict[str, float]  # per feature: the training average of its bin weight
    intercept: float
    calibration: tuple[float, float]  # Platt scaling (a, b) of the raw log-odds
    prior: tuple[float, float]  # base fraud and default rates the features' shares smooth toward
    policy_version: str
    metrics: dict = field(default_factory=dict)
    library: dict = field(default_factory=dict)

    # -- use -------------------------------------------------------------------------

    def contributions(self, table: features_.Features, rows: np.ndarray | None = None) -> np.ndarray:
        """Per row (default: all) and feature: calibrated log-odds the feature's bin adds
        over its average."""
        a = self.calibration[0]
        n = len(table) if rows is None else len(rows)
        out = np.zeros((n, len(self.features)))
        for k, name in enumerate(self.features):
            values = (table[name] if rows is None else table[name][rows]).astype(float) if name in table \
                else np.zeros(n)
            bins = np.searchsorted(np.asarray(self.edges[name]), values, side="left")
            out[:, k] = a * (np.asarray(self.weights[name])[bins] - self.mean_weight[name])
        return out

    def family_contributions(self, table: features_.Features) -> dict[str, np.ndarray]:
        """Per reason family: the calibrated log-odds its features add, for every row
        (as :meth:`contributions` summed by family, without the rows-by-features matrix)."""
        a = self.calibration[0]
        out: dict[str, np.ndarray] = {}
        for name in self.features:
            values = table[name].astype(float) if name in table else np.zeros(len(table))
            bins = np.searchsorted(np.asarray(self.edges[name]), values, side="left")
            part = a * (np.asarray(self.weights[name])[bins] - self.mean_weight[name])
            family = family_of(name)
            out[family] = out[family] + part if family in out else part
        return out

    def base_logit(self) -> float:
        a, b = self.calibration
        return float(b + a * (self.intercept + sum(self.mean_weight.values())))

    def probability(self, table: features_.Features) -> np.ndarray:
        """Calibrated fraud probability of every row of a feature table."""
        return _sigmoid(self.base_logit() + sum(self.family_contributions(table).values()))

    def explain(self, table: features_.Features, rows: np.ndarray | None = None) -> list[list[dict]]:
        """Reasons of the given rows (default: all): per family with positive points,
        ``{family, points, features: [{name, value, log_odds}]}``, strongest first.

        A family's points are ``1000 * (p - p without the family's features)``; a
        feature's ``log_odds`` is what its bin adds to the calibrated log-odds over
        its average bin (the model's exact, additive scorecard points).
        """
        rows = np.arange(len(table)) if rows is None else np.asarray(rows)
        contribution = self.contributions(table, rows)
        logit = self.base_logit() + contribution.sum(axis=1)
        p = _sigmoid(logit)
        families = np.array([family_of(f) for f in self.features], dtype=object)
        members = {family: np.flatnonzero(families == family) for family in sorted(set(families))}
        family_sum = {family: contribution[:, k].sum(axis=1) for family, k in members.items()}
        family_points = {family: np.rint(1000 * (p - _sigmoid(logit - part))).astype(np.int64)
                         for family, part in family_sum.items()}
        out = []
        for r, row in enumerate(rows):
            items = []
            for family, k in members.items():
                points = int(family_points[family][r])
                if points <= 0:
                    continue
                mine = contribution[r, k]
                top = k[np.argsort(-mine, kind="stable")][:5]
                detail = [{"name": self.features[f], "value": round(float(table[self.features[f]][row]), 4)
                           if self.features[f] in table else 0.0, "log_odds": round(float(contribution[r, f]), 3)}
                          for f in top if contribution[r, f] >= 0.0005]  # shown to 3 places
                items.append({"family": family, "points": points, "features": detail})
            out.append(sorted(items, key=lambda i: (-i["points"], i["family"])))
        return out

    # -- storage ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        data = dict(data)
        data["calibration"] = tuple(data["calibration"])
        data["prior"] = tuple(data["prior"])
        return cls(**data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Model:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ConfigurationError(f"model {path}: {exc}") from exc


def _sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


@dataclass
class TrainingSet:
    """Applicants, their features as of their own first application, and labels."""

    table: features_.Features
    label: np.ndarray  # bool: fraud observed by the as-of date
    at: np.ndarray  # the scoring time of each row
    weight: np.ndarray  # sampling weight of each row (1 but for sampled non-fraud rows)


def training_set(projection: Projection, policy: Policy, *, as_of: int | None, maturity_days: int = 0,
                 store=None, linked=None, prior: tuple[float, float] | None = None,
                 sample: tuple[int, int] | None = None) -> TrainingSet:
    """Every applicant known to ``projection`` (built as of ``as_of``) whose first
    application is at least ``maturity_days`` old, with features as of that first
    application (applicants without one: as of ``as_of``) and its fraud label.

    ``sample = (ratio, seed)`` keeps every fraud row and at most ``ratio`` other rows
    per fraud row, drawn with the seed and weighted back to their number (a
    case-control sample: the fit sees every fraud and as many others as it needs).
    """
    end = float(as_of) if as_of is not None else time.time()
    first = projection.first_applied
    at = np.where(np.isnan(first), end, first)
    keep = projection.known & (at <= end - maturity_days * features_.DAY)
    positions = np.flatnonzero(keep)
    weight = np.ones(len(positions))
    if sample is not None:
        ratio, seed = sample
        fraud = projection.fraud[positions]
        others = np.flatnonzero(~fraud)
        wanted = ratio * max(int(fraud.sum()), 1)
        if len(others) > wanted:
            drawn = np.sort(np.random.default_rng(seed).choice(others, size=wanted, replace=False))
            chosen = np.sort(np.concatenate([np.flatnonzero(fraud), drawn]))
            weight = np.where(fraud[chosen], 1.0, len(others) / wanted)
            positions = positions[chosen]
    table = features_.compute(projection, policy, at=at[positions], positions=positions, prior=prior,
                              store=store, linked=linked)
    return TrainingSet(table, projection.fraud[positions].copy(), at[positions], weight)


def _bins(values: np.ndarray) -> list[float]:
    """Upper bin edges of a feature from its training quantiles, merging bins too small."""
    values = values.astype(float)
    distinct = np.unique(values)
    if len(distinct) <= 1:
        return []
    if len(distinct) <= 8:
        edges = distinct[:-1].tolist()
    else:
        edges = sorted(set(np.quantile(values, QUANTILES).tolist()) | {float(distinct[0])})
        edges = [e for e in edges if e < distinct[-1]]
    least = max(10, MIN_BIN_SHARE * len(values))
    kept: list[float] = []
    start = -np.inf
    for e in edges:
        if ((values > start) & (values <= e)).sum() >= least:
            kept.append(e)
            start = e
    if kept and (values > kept[-1]).sum() < least:
        kept.pop()
    return kept


def _design(columns: dict[str, np.ndarray], names: list[str], edges: dict[str, list[float]]):
    """Bin indicators of every row (CSR), and each feature's first column."""
    from scipy import sparse

    n = len(next(iter(columns.values())))
    blocks, offsets, start = [], {}, 0
    for name in names:
        bins = np.searchsorted(np.asarray(edges[name]), columns[name].astype(float), side="left")
        width = len(edges[name]) + 1
        blocks.append(sparse.csr_matrix((np.ones(n), (np.arange(n), bins)), shape=(n, width)))
        offsets[name] = start
        start += width
    return sparse.hstack(blocks, format="csr"), offsets


def fit(projection: Projection, policy: Policy, *, as_of: int | None, seed: int = 7, maturity_days: int = 0,
        store=None, linked=None, c: float = 0.3) -> Model:
    """Fit the scorecard on the applicants of ``projection`` (see :func:`training_set`).

    Without ``linked`` it links the projection itself, and on a large one computes
    the training features on the second core meanwhile.

    Raises
    ------
    ModelError
        With fewer than :data:`MIN_POSITIVES` fraud labels or non-fraud applicants.
    """
    import scipy
    import sklearn
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    prior = features_.base_rates(projection)
    if linked is None:
        from graphsvc.analytics.linkage import link
        from graphsvc.background import PARALLEL_ROWS, ahead

        projection.service_numbers(store)  # the one part that reads the store, done before the fork
        pending = ahead(lambda: iter([training_set(projection, policy, as_of=as_of, maturity_days=maturity_days,
                                                   prior=prior, sample=(NEGATIVES_PER_POSITIVE, seed))]),
                        parallel=int(projection.known.sum()) >= PARALLEL_ROWS)
        linked = link(projection, policy, store)
        data = next(pending)
        for _ in pending:  # the child's end
            pass
        features_.add_linked(data.table, projection, linked, policy)
    else:
        data = training_set(projection, policy, as_of=as_of, maturity_days=maturity_days, store=store,
                            linked=linked, prior=prior, sample=(NEGATIVES_PER_POSITIVE, seed))
    y, w = data.label.astype(int), data.weight
    positives, negatives = int(y.sum()), int(round(float(w[y == 0].sum())))
    if positives < MIN_POSITIVES or negatives < MIN_POSITIVES:
        raise ModelError(f"{positives} fraud labels and {negatives} other applicants known"
                         f"{'' if as_of is None else ' at the as-of date'}: a fitted model needs at least "
                         f"{MIN_POSITIVES} of each; the hand-set policy stays")
    columns = data.table.columns
    edges = {name: _bins(values) for name, values in columns.items()}
    names = [name for name in columns if edges[name]]
    x, offsets = _design(columns, names, edges)

    # cross-fitted log-odds: each row scored by a model that did not see it
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        fold[rows] = rng.permutation(len(rows)) % FOLDS
    held = np.zeros(len(y))
    for k in range(FOLDS):
        train = fold != k
        model = LogisticRegression(C=c, max_iter=500, tol=1e-5).fit(x[train], y[train], sample_weight=w[train])
        held[~train] = model.decision_function(x[~train])
    platt = LogisticRegression(C=1e6, max_iter=500).fit(held.reshape(-1, 1), y, sample_weight=w)
    calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    final = LogisticRegression(C=c, max_iter=500, tol=1e-5).fit(x, y, sample_weight=w)
    coef = final.coef_[0]
    weights, mean_weight = {}, {}
    for name in names:
        bin_weight = coef[offsets[name]:offsets[name] + len(edges[name]) + 1]
        bins = np.searchsorted(np.asarray(edges[name]), columns[name].astype(float), side="left")
        weights[name] = [round(float(v), 6) for v in bin_weight]
        mean_weight[name] = round(float(np.average(bin_weight[bins], weights=w)), 6)
    calibrated = _sigmoid(calibration[0] * held + calibration[1])
    from graphsvc.analytics.backtest import auc, calibration_table

    metrics = {"rows": len(y), "positives": positives, "negatives": negatives,
               "cross_fitted_auc": round(float(auc(held, y.astype(bool))), 4),
               "brier": round(float(np.average((calibrated - y) ** 2, weights=w)), 6),
               "calibration": calibration_table(calibrated, y.astype(bool), weights=w),
               "seconds": round(time.perf_counter() - started, 2)}
    spec = {"as_of": as_of, "seed": seed, "maturity_days": maturity_days, "features": names, "weights": weights,
            "policy": policy.version}
    model_id = "model-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return Model(model_id=model_id, created_at=datetime.now(UTC).isoformat(timespec="seconds"), as_of=as_of,
                 maturity_days=maturity_days, seed=seed, features=names, edges={n: edges[n] for n in names},
                 weights=weights, mean_weight=mean_weight, intercept=round(float(final.intercept_[0]), 6),
                 calibration=calibration, prior=prior, policy_version=policy.version, metrics=metrics,
                 library={"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__})
