"""Re-score runs and what they hold: running one (here or as a background job),
serving, the rings, scores and reasons of a run, the feature table, fitting a
scorecard, and backtests, hold-outs and replays that measure it all.

In: the store and the settings; a policy or a fitted model as objects or their JSON
files; as-of times as ISO text. Out: run records (dicts), pandas frames of a run's
tables, and the figures of an evaluation.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.analytics import serving
from graphsvc.analytics.backtest import backtest
from graphsvc.analytics.explain import explain
from graphsvc.analytics.model import Model
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.rescore import Progress, rescore
from graphsvc.analytics.rings import typologies
from graphsvc.errors import InputError, NotFoundError
from graphsvc.ingest.normalise import parse_as_of
from graphsvc.ingest.sources import TableSource
from graphsvc.service import jobs
from graphsvc.settings import Settings
from graphsvc.store import Store

#: a policy or a model as an object, or the JSON file it was saved to
PolicyLike = Policy | str | Path | None
ModelLike = Model | str | Path | None


class Runs:
    """The re-score runs of :class:`~graphsvc.service.Service`."""

    store: Store
    settings: Settings

    def rescore(self, *, as_of: str | None = None, seed: int = 7, policy: PolicyLike = None,
                model: ModelLike = None, progress: Progress | None = None,
                promote: bool = False) -> dict:
        """Re-run the whole-graph analytics and write a new versioned run.

        ``as_of`` (ISO date or timestamp) uses only what was known then; ``model``
        (a :class:`~graphsvc.analytics.model.Model` or its JSON file, see :meth:`fit`) scores
        the run, and score-on-write after it. The run is served from now on when it
        covers the store (:mod:`graphsvc.analytics.serving`), or with ``promote``. Returns the
        run record: run_id, parameters, per-stage timings, counts, and the serving
        ``decision`` (promote or hold) with its ``reason``.
        """
        return rescore(self.store, as_of=parse_as_of(as_of, self.settings.timezone), seed=seed,
                       policy=_policy(policy), model=_model(model), progress=progress, promote=promote)

    def promote(self, run_id: str, reason: str = "promoted by hand") -> dict:
        """Serve ``run_id`` from now on (API, score-on-write, ring ids); returns the log entry."""
        return serving.promote(self.store, run_id, reason)

    def rollback(self, reason: str = "rolled back by hand") -> dict:
        """Serve again the run served before the current one; returns the log entry."""
        return serving.rollback(self.store, reason)

    def promotions(self) -> pd.DataFrame:
        """The promotion log, newest first: at, run_id, action, reason, replaces."""
        return self.store.promotions()

    def features(self, *, as_of: str | None = None, at: str = "as-of", policy: PolicyLike = None) -> pd.DataFrame:
        """The feature table (:mod:`graphsvc.analytics.features`, catalogue in ``docs/features.md``):
        one row per applicant known at ``as_of``, computed from what was known at
        ``as_of`` (``at="as-of"``) or at each applicant's first application (``"own"``,
        as :meth:`fit` trains)."""
        from graphsvc.analytics import features as features_
        from graphsvc.analytics.linkage import link

        if at not in ("as-of", "own"):
            raise InputError("at must be 'as-of' or 'own'")
        policy = _policy(policy) or Policy()
        when = parse_as_of(as_of, self.settings.timezone)
        projection = Projection.from_store(self.store, when, policy.consent)
        linked = link(projection, policy, self.store)
        if at == "own":
            from graphsvc.analytics.model import training_set

            data = training_set(projection, policy, as_of=when, store=self.store, linked=linked)
            return data.table.frame().assign(at=data.at, fraud=data.label)
        return features_.compute(projection, policy, store=self.store, linked=linked).frame()

    def fit(self, as_of: str | None = None, *, maturity_days: int = 0, seed: int = 7,
            policy: PolicyLike = None) -> Model:
        """Fit a scorecard (:mod:`graphsvc.analytics.model`) on the fraud outcomes known at ``as_of``,
        with features as of each applicant's first application; ``Model.save`` writes it.

        Raises
        ------
        ModelError
            When too few outcomes are known (the hand-set policy stays).
        """
        from graphsvc.analytics.model import fit

        policy = _policy(policy) or Policy()
        when = parse_as_of(as_of, self.settings.timezone)
        projection = Projection.from_store(self.store, when, policy.consent)
        return fit(projection, policy, as_of=when, seed=seed, maturity_days=maturity_days, store=self.store)

    def runs(self) -> pd.DataFrame:
        """Re-score runs, newest first, with ``served`` (the one served now) and the
        latest serving ``decision`` about each with its ``reason``.

        Examples
        --------
        >>> svc.runs()[["served", "decision"]].values.tolist()
        [[True, 'promote']]
        """
        return serving.annotate(self.store.runs(), self.store.promotions(), self.store.served_run())

    def run_id(self, run_id: str | None = None) -> str:
        """``run_id`` if given, else the served run's.

        Raises
        ------
        NotFoundError
            When nothing has been re-scored yet.
        """
        if run_id:
            return run_id
        latest = self.store.served_run()
        if latest is None:
            raise NotFoundError("no re-score run yet: run `graphsvc rescore` first")
        return str(latest["run_id"])

    def rings(self, top: int | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Rings of a run by descending risk, features as columns.

        Examples
        --------
        >>> svc.rings(top=2)[["ring_id", "size", "risk", "fraud"]].values.tolist()
        [['R000013', 27, 0.9971, 11], ['R000003', 22, 0.9969, 9]]
        """
        rings = self.store.run_table(self.run_id(run_id), "rings")
        features = pd.DataFrame([json.loads(f) for f in rings["features"]], index=rings.index)
        out = pd.concat([rings.drop(columns=["features"]), features], axis=1)
        out = out.sort_values(["risk", "size", "ring_id"], ascending=[False, False, True], ignore_index=True)
        return out.head(top) if top else out

    def ring_members(self, ring_id: str, run_id: str | None = None) -> pd.DataFrame:
        """Members of a ring with their scores and bands.

        Examples
        --------
        >>> svc.ring_members("R000013")[["applicant_id", "score", "band"]].head(2).values.tolist()
        [['A00001353', 994, 'high'], ['A00001685', 969, 'high']]
        """
        run = self.run_id(run_id)
        members = self.store.run_table(run, "ring_members", where={"ring_id": [ring_id]})
        if not len(members):
            raise NotFoundError(f"run {run} has no ring {ring_id!r}")
        scores = self.store.run_table(run, "scores", where={"applicant_id": members["applicant_id"].tolist()})
        return members.merge(scores.drop(columns=["ring_id", "reasons"]), on="applicant_id", how="left")

    def ring_page(self, *, limit: int = 50, cursor: str | None = None, min_risk: float = 0.0, min_size: int = 1,
                  typology: str | None = None) -> dict:
        """One page of the served run's rings by descending risk (then ring id), filtered by
        risk, size and typology: ``run_id``, ``rings`` (as :meth:`ring` gives them, without
        members) and ``next_cursor`` (None on the last page), which the next call passes.

        Raises
        ------
        InputError
            For a cursor this service did not issue, or one of an older run.

        Examples
        --------
        >>> page = svc.ring_page(limit=2)
        >>> [ring["ring_id"] for ring in page["rings"]], page["next_cursor"] is not None
        (['R000013', 'R000003'], True)
        >>> [ring["ring_id"] for ring in svc.ring_page(limit=1, cursor=page["next_cursor"])["rings"]]
        ['R000009']
        """
        run_id = self.run_id()
        rings = self.store.run_table(run_id, "rings")
        rings = rings[(rings["risk"] >= min_risk) & (rings["size"] >= min_size)]
        if typology is not None:
            rings = rings.loc[np.array([typology in typologies(json.loads(f)) for f in rings["features"]], dtype=bool)]
        rings = rings.sort_values(["risk", "ring_id"], ascending=[False, True], ignore_index=True)
        if cursor:
            run, risk, ring_id = _read_cursor(cursor)
            if run != run_id:
                raise InputError("cursor belongs to an older run: start again without a cursor")
            rings = rings[(rings["risk"] < risk) | ((rings["risk"] == risk) & (rings["ring_id"] > ring_id))]
        page = [_ring(row) for _, row in rings.head(limit).iterrows()]
        more = len(rings) > limit
        return {"run_id": run_id, "rings": page,
                "next_cursor": _cursor(run_id, page[-1]["risk"], page[-1]["ring_id"]) if more else None}

    def ring(self, ring_id: str, run_id: str | None = None) -> dict:
        """One ring of a run (the served one by default): ring_id, size, risk, fraud and
        default counts, ``features``, ``typologies``, ``run_id`` and ``members`` (as
        :meth:`ring_members`).

        Raises
        ------
        NotFoundError
            When the run has no such ring.

        Examples
        --------
        >>> ring = svc.ring("R000013")
        >>> ring["size"], ring["typologies"], ring["members"]["band"].tolist().count("high")
        (27, ['agent', 'one_subnet', 'burst'], 27)
        """
        run = self.run_id(run_id)
        members = self.ring_members(ring_id, run_id=run)
        row = self.store.run_table(run, "rings", where={"ring_id": [ring_id]}).iloc[0]
        return {**_ring(row), "run_id": run, "members": members}

    def scores(self, run_id: str | None = None) -> pd.DataFrame:
        """Every applicant's score, band, ring and reasons (JSON) in a run.

        Examples
        --------
        >>> svc.scores()["band"].value_counts().to_dict()
        {'low': 19505, 'high': 452, 'review': 43}
        """
        return self.store.run_table(self.run_id(run_id), "scores")

    def hubs(self, run_id: str | None = None) -> pd.DataFrame:
        """Identifiers left out of the linkage as hubs, with their verdicts."""
        return self.store.run_table(self.run_id(run_id), "hubs")

    def explain(self, applicant_id: str, run_id: str | None = None) -> dict:
        """Score, band, ring and reasons of an applicant, evidence paths spelled out
        (:func:`graphsvc.analytics.explain.as_text` prints it for a person).

        Examples
        --------
        >>> [reason["code"] for reason in svc.explain("A00001353")["reasons"]]
        ['CONFIRMED_FRAUD', 'RING_MEMBER', 'DEFAULT_PROXIMITY']
        """
        return explain(self.store, self.run_id(run_id), applicant_id)

    def backtest(self, as_of: str, *, seed: int = 7, policy: PolicyLike = None, k: int = 100,
                 truth: str | Path | None = None, model: ModelLike = None,
                 new_applications: bool = True, limit: int | None = None, progress: Progress | None = None) -> dict:
        """Score with what was known at ``as_of`` and evaluate on what came after:
        applicants known then, and (``new_applications``) applicants first applying
        later, each scored as score-on-write scored it (:func:`graphsvc.analytics.backtest.backtest`)."""
        at = parse_as_of(as_of, self.settings.timezone)
        return backtest(self.store, at, seed=seed, policy=_policy(policy), k=k, truth=Path(truth) if truth else None,
                        model=_model(model), new_applications=new_applications, limit=limit, progress=progress)

    def holdout(self, share: float = 0.3, *, seed: int = 7, policy: PolicyLike = None, k: int = 100,
                fit: bool = False) -> dict:
        """Hide a share of the fraud labels, score without them, and measure how
        well the scores find them (AUC, precision at k, recall at the review band);
        with ``fit``, by a scorecard fitted on the labels left."""
        from graphsvc.analytics.backtest import holdout

        return holdout(self.store, share, seed=seed, policy=_policy(policy), k=k, fit=fit)

    def replay(self, sources: list[TableSource], start: str, *, truth: pd.DataFrame | None = None,
               policy: PolicyLike = None, seed: int = 7, model: ModelLike = None, limit: int | None = None,
               progress: Progress | None = None) -> dict:
        """Replay the applications of ``sources`` made after ``start`` through score-on-write
        into this store, which must be empty, then re-score in batch
        (:func:`graphsvc.online.replay.replay`): who was flagged at application time, and who after.

        Raises
        ------
        InputError
            When the store already holds applicants, or ``start`` is no ISO date or time.
        """
        from graphsvc.online.replay import replay

        cut = parse_as_of(start, self.settings.timezone)
        held = self.store.counts()["nodes"].get("applicant", 0)
        if held:
            raise InputError(f"the store holds {held} applicants: replay builds a new working store, so give "
                             "it an empty one (on Neo4j, point GRAPHSVC_NEO4J_URI or _DATABASE at an empty one)")
        return replay(self.store, sources, cut, truth=truth, policy=_policy(policy), seed=seed,
                      settings=self.settings, model=_model(model), limit=limit, progress=progress)

    def start_rescore_job(self, folder: Path, *, as_of: str | None = None, seed: int = 7,
                          promote: bool = False) -> tuple[dict, object]:
        """Start a re-score run of this store in a separate process (:mod:`graphsvc.service.jobs`),
        its record kept in ``folder``: returns the job's record and its process.

        Raises
        ------
        InputError
            When ``as_of`` is no ISO date or time.
        """
        when = parse_as_of(as_of, self.settings.timezone)
        return jobs.start(self.store.location, self.settings, folder, as_of=when, seed=seed, promote=promote)

    def rescore_job(self, folder: Path, job_id: str, process=None) -> dict:
        """A re-score job's record: its status, and its run id once it has succeeded."""
        return jobs.status(folder, job_id, process)


def _model(model: ModelLike) -> Model | None:
    return Model.load(model) if isinstance(model, str | Path) else model


def _policy(policy: PolicyLike) -> Policy | None:
    return Policy.from_file(policy) if isinstance(policy, str | Path) else policy


def _ring(row: pd.Series) -> dict:
    features = json.loads(row["features"])
    return {"ring_id": row["ring_id"], "size": int(row["size"]), "risk": float(row["risk"]),
            "fraud": int(row["fraud"]), "default": int(row["default"]), "features": features,
            "typologies": typologies(features)}


def _cursor(run_id: str, risk: float, ring_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([run_id, risk, ring_id]).encode()).decode()


def _read_cursor(cursor: str) -> tuple[str, float, str]:
    try:
        run, risk, ring_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (isinstance(run, str) and isinstance(ring_id, str) and isinstance(risk, int | float)
                and math.isfinite(risk)):
            raise TypeError("a cursor holds a run id, a finite risk and a ring id")
    except (ValueError, TypeError) as exc:
        raise InputError("cursor is not one this API issued") from exc
    return run, float(risk), ring_id
