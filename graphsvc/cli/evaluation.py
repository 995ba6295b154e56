"""Commands that learn from outcomes and measure: features, fit, backtest, holdout, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graphsvc.cli.common import DEFAULT_DB, DbOption, _fail, _progress_bar, _table, app, console
from graphsvc.cli.loading import (
    ApplicantsOption,
    ApplicationsOption,
    ContactsOption,
    DataDirOption,
    IdentifiersOption,
    KindOption,
    OutcomesOption,
    RelationsOption,
    SourceOption,
    sources_of,
)
from graphsvc.cli.scoring import ModelOption, PolicyOption, SeedOption, _service, _with_progress
from graphsvc.errors import GraphsvcError
from graphsvc.files import write_frame

AsOfOption = Annotated[str | None, typer.Option(help="Use only what was known at this ISO date or time.")]
FormatOption = Annotated[str, typer.Option("--format", help="table or json")]


def _write(frame, out: Path) -> None:
    try:
        write_frame(frame, out)
    except ValueError as exc:
        raise _fail(exc) from exc


def _figures(figures: dict, title: str, output: str, skip: tuple[str, ...] = ("timings",)) -> None:
    """A report as JSON, or its scalar figures as a table (nested parts as tables of
    their own, but those in ``skip``)."""
    import pandas as pd

    if output == "json":
        typer.echo(json.dumps(figures, indent=2, default=str))
        return
    def measures(part: dict) -> pd.DataFrame:  # values as given: counts stay integers, None stays blank
        rows = [(k, v) for k, v in part.items() if not isinstance(v, dict | list)]
        return pd.DataFrame({"measure": [k for k, _ in rows], "value": pd.Series([v for _, v in rows], dtype=object)})

    console.print(_table(measures(figures), title))
    for key, part in figures.items():
        if isinstance(part, dict) and key not in skip and part:
            if all(isinstance(v, dict) for v in part.values()):
                console.print(_table(pd.DataFrame([{key: k, **v} for k, v in part.items()]), f"{title}: {key}"))
            else:
                console.print(_table(measures(part), f"{title}: {key}"))


@app.command()
def features(
    out: Annotated[Path, typer.Option(help="Output file (.parquet or .csv).")],
    db: DbOption = DEFAULT_DB,
    as_of: AsOfOption = None,
    at: Annotated[str, typer.Option(help="as-of: features at the date; own: at each applicant's first "
                                         "application (as fit trains), with its fraud label")] = "as-of",
    policy: PolicyOption = None,
) -> None:
    """Write the point-in-time feature table, one row per applicant (docs/features.md)."""
    with _service(db) as service:
        frame = service.features(as_of=as_of, at=at, policy=policy)
    _write(frame, out)
    console.print(f"{len(frame):,} applicants x {frame.shape[1] - 1} features written to {out}")


@app.command()
def fit(
    db: DbOption = DEFAULT_DB,
    as_of: AsOfOption = None,
    out: Annotated[Path, typer.Option(help="The model file (JSON) to write.")] = Path("model.json"),
    maturity_days: Annotated[int, typer.Option(help="Leave out applicants who applied fewer days than this "
                                                    "before the date (their outcome is not in yet).")] = 0,
    seed: SeedOption = 7,
    policy: PolicyOption = None,
    output: FormatOption = "table",
) -> None:
    """Fit a scorecard on the fraud outcomes known at a date (features as of each
    applicant's own first application); score with it by `rescore --model`."""
    with _service(db) as service:
        model = service.fit(as_of, maturity_days=maturity_days, seed=seed, policy=policy)
    model.save(out)
    summary = {"model_id": model.model_id, "file": str(out), "features": len(model.features),
               **{k: v for k, v in model.metrics.items() if k != "calibration"}}
    _figures(summary, f"fitted {model.model_id}", output)


@app.command()
def backtest(
    as_of: Annotated[str, typer.Option(help="Score with what was known at this ISO date or time.")],
    db: DbOption = DEFAULT_DB,
    truth: Annotated[Path | None, typer.Option(help="Truth file of a generated scenario (truth_applicants).")] = None,
    k: Annotated[int, typer.Option(help="Precision is measured among the k highest scores.")] = 100,
    model: ModelOption = None,
    new: Annotated[bool, typer.Option(help="Also judge applicants first applying after the date, each "
                                           "scored as score-on-write scored it then.")] = True,
    limit: Annotated[int | None, typer.Option(help="Judge at most this many new applicants (the earliest).")] = None,
    seed: SeedOption = 7,
    policy: PolicyOption = None,
    output: FormatOption = "table",
) -> None:
    """Score as of a date and evaluate against fraud observed after it (and ring truth)."""
    with _service(db) as service:
        figures = _with_progress(lambda progress: service.backtest(
            as_of, seed=seed, policy=policy, k=k, truth=truth, model=model, new_applications=new,
            limit=limit, progress=progress))
    _figures(figures, f"backtest as of {as_of}", output, skip=("timings", "known"))


@app.command()
def holdout(
    db: DbOption = DEFAULT_DB,
    share: Annotated[float, typer.Option(help="Share of the fraud labels hidden.")] = 0.3,
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated: one hold-out each.")] = "1,2,3",
    fit_model: Annotated[bool, typer.Option("--fit/--policy", help="Fit a scorecard on the labels left "
                                                                  "(or score with the hand-set policy).")] = True,
    k: Annotated[int, typer.Option(help="Precision is measured among the k highest scores.")] = 100,
    policy: PolicyOption = None,
    output: FormatOption = "table",
) -> None:
    """Hide a share of the fraud labels, score without them, and see how the scores find them again."""
    try:
        chosen = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise _fail(ValueError("--seeds takes integers separated by commas")) from None
    with _service(db) as service:
        runs = [service.holdout(share, seed=s, policy=policy, k=k, fit=fit_model) for s in chosen]
    aucs = [r["auc"] for r in runs if r["auc"] is not None]
    report = {"share": share, "seeds": chosen, "mean_auc": round(sum(aucs) / len(aucs), 4) if aucs else None,
              "runs": runs}
    if output == "json":
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    import pandas as pd

    rows = [{k: v for k, v in r.items() if not isinstance(v, dict | list)} for r in runs]
    console.print(_table(pd.DataFrame(rows), f"hold-out of {share:.0%} of the fraud labels"))
    console.print(f"mean AUC {report['mean_auc']}")


@app.command()
def replay(
    start: Annotated[str, typer.Option("--from", help="The cut: applications after it are replayed on write.")],
    db: Annotated[Path, typer.Option("--db", help="The working store to build (must not exist; on Neo4j, the "
                                                  "configured database, which must be empty).")],
    applications: ApplicationsOption = None,
    contacts: ContactsOption = None,
    outcomes: OutcomesOption = None,
    relations: RelationsOption = None,
    applicants: ApplicantsOption = None,
    identifiers: IdentifiersOption = None,
    source: SourceOption = None,
    data_dir: DataDirOption = None,
    kind: KindOption = [],  # noqa: B006
    truth: Annotated[Path | None, typer.Option(help="Truth file of a generated scenario (truth_applicants).")] = None,
    model: ModelOption = None,
    limit: Annotated[int | None, typer.Option(help="Replay at most this many applications (the earliest).")] = None,
    answers: Annotated[Path | None, typer.Option(help="Write every answer (.parquet or .csv).")] = None,
    seed: SeedOption = 7,
    policy: PolicyOption = None,
    output: FormatOption = "table",
) -> None:
    """Replay later applications through score-on-write as underwriting lived them,
    then re-score in batch: who was flagged at application time, and who afterwards."""
    import pandas as pd

    import graphsvc
    from graphsvc.settings import get_settings

    if get_settings().backend == "embedded" and db.exists():
        raise _fail(FileExistsError(f"{db} exists: replay builds a new working store"))
    files = {"applicants": applicants, "applications": applications, "identifiers": identifiers,
             "contacts": contacts, "outcomes": outcomes, "relations": relations}
    try:
        sources = sources_of(files, source, data_dir, kind)
        known = pd.read_parquet(truth) if truth and truth.suffix == ".parquet" else (
            pd.read_csv(truth) if truth else None)
        bar = _progress_bar()
        with bar, graphsvc.open(db) as service:  # on Neo4j the working store is the configured database
            task = bar.add_task("replaying", total=None)
            report = service.replay(sources, start, truth=known, policy=policy, seed=seed, model=model, limit=limit,
                                    progress=lambda d, done, total: bar.update(task, completed=done, total=total))
    except (GraphsvcError, ValueError) as exc:
        raise _fail(exc) from exc
    table = report.pop("answers")
    if answers is not None:
        _write(table, answers)
    if output == "json":
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    groups = report.pop("groups")
    _figures(report, f"replay from {start}", "table")
    console.print(_table(pd.DataFrame(groups), "flagged (review or high) at application time and afterwards"))
