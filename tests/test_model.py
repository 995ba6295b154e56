"""The fitted scorecard: refuses without outcomes, deterministic, calibrated, explained, used on write."""

import json
import shutil

import numpy as np
import pytest

import graphsvc
from graphsvc.analytics.model import MIN_POSITIVES, Model
from graphsvc.errors import ModelError

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def fitted(population):
    from conftest import TEST_KEY

    from graphsvc.settings import Settings, use_settings

    use_settings(Settings(hmac_key=TEST_KEY))
    with graphsvc.open(population / "graph.db", readonly=True) as service:
        model = service.fit(AS_OF, seed=3)
    use_settings(None)
    return model


def test_too_few_outcomes_refuse_and_say_so(scenario_db):
    with graphsvc.open(scenario_db, readonly=True) as service, pytest.raises(
            ModelError, match=f"needs at least {MIN_POSITIVES} of each; the hand-set policy stays"):
        service.fit("2024-06-30")


def test_the_fit_learns_from_outcomes_known_at_its_date(fitted, population):
    metrics = fitted.metrics
    assert metrics["positives"] >= MIN_POSITIVES and metrics["cross_fitted_auc"] > 0.75
    calibration = metrics["calibration"]
    everyone = metrics["positives"] + metrics["negatives"]
    assert metrics["rows"] < everyone  # a case-control sample, weighted back
    assert abs(sum(b["applicants"] for b in calibration) - everyone) <= len(calibration)
    top = calibration[-1]
    assert abs(top["predicted"] - top["observed"]) < 0.15  # calibrated where it matters
    with graphsvc.open(population / "graph.db", readonly=True) as service:
        assert service.fit(AS_OF, seed=3).model_id == fitted.model_id  # deterministic for a seed
    assert fitted.library["scikit-learn"] and fitted.features and set(fitted.edges) == set(fitted.features)


def test_the_model_file_round_trips(fitted, tmp_path, population):
    path = fitted.save(tmp_path / "model.json")
    again = Model.load(path)
    assert again == fitted
    with graphsvc.open(population / "graph.db", readonly=True) as service:
        table = service.features(as_of=AS_OF)
    assert json.loads(path.read_text())["model_id"] == fitted.model_id
    assert len(table) > 10_000


def test_reasons_are_the_families_points(fitted, population):
    from graphsvc.analytics import features, linkage
    from graphsvc.analytics.policy import Policy
    from graphsvc.analytics.projection import Projection
    from graphsvc.analytics.reasons import scorecard
    from graphsvc.ingest.normalise import parse_as_of
    from graphsvc.store import open_store

    with open_store(str(population / "graph.db"), readonly=True) as store:
        projection = Projection.from_store(store, parse_as_of(AS_OF))
        linked = linkage.link(projection, Policy(), store)
        table = features.compute(projection, Policy(), store=store, linked=linked, prior=fitted.prior)
    p, points = scorecard(fitted, table)
    assert np.allclose(p, fitted.probability(table))
    top = int(np.argmax(p))
    reasons = fitted.explain(table, np.array([top]))[0]
    assert reasons and reasons[0]["points"] == max(int(points[code][top]) for code in points)
    assert all(f["log_odds"] > 0 for r in reasons for f in r["features"])


def test_a_run_and_score_on_write_use_the_model(fitted, population, tmp_path):
    from conftest import application

    from graphsvc.online.intake import prepare_application, store_application
    from graphsvc.online.scoring import score_neighbourhood
    from graphsvc.settings import get_settings

    path = tmp_path / "graph.db"
    shutil.copy(population / "graph.db", path)
    with graphsvc.open(path) as service:
        run = service.rescore(as_of=AS_OF, model=fitted, promote=True)  # a look at the past, served on purpose
        assert run["params"]["model_id"] == fitted.model_id
        scores = service.scores()
        codes = {r["code"] for text in scores["reasons"].dropna() for r in json.loads(text)}
        assert codes <= {"CONFIRMED_FRAUD", "RING_MEMBER"} | {f"SCORECARD_{f}" for f in (
            "DEVICE", "NETWORK", "IDENTITY", "CONTACT", "GROUP", "RELATIONS", "HISTORY")}  # the model's now
        explained = service.explain(scores.sort_values("score").iloc[-1]["applicant_id"])
        assert all(r["meaning"] for r in explained["reasons"])
        answers = []
        for n in range(5):  # five applications on one new device within hours: a farm the model has seen
            body = application(900_001 + n, day=540, device="new-farm")
            body["applied_at"] = f"2025-06-23T0{n + 1}:00:00Z"
            prepared = prepare_application(body, [], get_settings())
            store_application(service.store, prepared)
            answers.append(score_neighbourhood(service.store, prepared))
    assert all(a["versions"]["model_id"] == fitted.model_id for a in answers)
    scores = [a["score"] for a in answers]
    assert scores == sorted(scores) and scores[-2] > 5 * scores[0]
    third = {r["code"]: r for r in answers[2]["reasons"]}
    assert all(code.startswith("SCORECARD_") for code in third)  # the model's, not the hand-set velocity reasons
    assert "linked_burst" in [f["name"] for f in third["SCORECARD_GROUP"]["evidence"]["features"]]
    assert answers[-1]["reasons"][0]["code"] == "EMERGING_RING"  # ring structure stays on top
