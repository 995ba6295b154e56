"""Commands that analyse the store: rescore, runs, rings, scores, explain, skiptrace, pictures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from graphsvc.cli.common import DEFAULT_DB, DbOption, _fail, _progress_bar, _require_store, _table, app, console
from graphsvc.errors import GraphsvcError
from graphsvc.files import write_frame

RunOption = Annotated[str | None, typer.Option("--run", help="Run id; default: the served run.")]
SeedOption = Annotated[int, typer.Option(help="Seed of community detection (same seed, same rings).")]
PolicyOption = Annotated[Path | None, typer.Option(help="Scoring policy overrides (JSON).")]
ModelOption = Annotated[Path | None, typer.Option(help="A fitted model (`graphsvc fit --out`) to score with.")]


@contextmanager
def _service(db: Path, *, readonly: bool = True) -> Iterator:
    """Open an existing store, turning library errors into ``error:`` exits."""
    import graphsvc

    _require_store(db)
    try:
        with graphsvc.open(db, readonly=readonly) as service:
            yield service
    except (GraphsvcError, ValueError) as exc:
        raise _fail(exc) from exc


def _with_progress(work):
    bar = _progress_bar()
    with bar:
        task = bar.add_task("re-scoring", total=None)
        return work(lambda stage, done, total: bar.update(task, completed=done, total=total,
                                                          description=f"done: {stage}"))


@app.command()
def rescore(
    db: DbOption = DEFAULT_DB,
    as_of: Annotated[str | None, typer.Option(help="Use only what was known at this ISO date or time.")] = None,
    seed: SeedOption = 7,
    policy: PolicyOption = None,
    model: ModelOption = None,
    promote: Annotated[bool, typer.Option("--promote", help="Serve the run even when it does not cover the store "
                                                            "(an as-of in the past, fewer applicants).")] = False,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Re-run rings, propagation and scores over the whole graph as a new versioned run.

    The run is served (API, score-on-write) when it covers the store; otherwise it is
    kept, held, until `graphsvc promote RUN`.
    """
    with _service(db, readonly=False) as service:
        run = _with_progress(lambda progress: service.rescore(as_of=as_of, seed=seed, policy=policy,
                                                              model=model, progress=progress, promote=promote))
    if output == "json":
        typer.echo(json.dumps(run, indent=2, default=str))
        return
    scorer = f"model {run['params']['model_id']}" if run["params"].get("model_id") else "hand-set policy"
    console.print(f"run {run['run_id']} (policy {run['params']['policy_version']}, {scorer}, seed {seed})")
    console.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in run["timings"].items()))
    counts = run["counts"]
    console.print(f"scored {counts['applicants']:,} applicants"
                  + (f"; {counts['not_scored']:,} not scored: nothing of them known at the as-of date"
                     if counts.get("not_scored") else "; every applicant in the store")
                  + f"; identifier kinds: {', '.join(run['params']['kinds']) or 'none'}")
    console.print("counts: " + ", ".join(f"{k} {v:,}" for k, v in run["counts"].items()))
    console.print(("served from now on: " if run["decision"] == "promote" else "held, not served: ")
                  + run["reason"], markup=False)


@app.command()
def runs(db: DbOption = DEFAULT_DB,
         output: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """Re-score runs, newest first: which one is served, and why each was promoted or held."""
    with _service(db) as service:
        frame = service.runs()
    if output == "json":
        typer.echo(frame.to_json(orient="records", indent=2))
        return
    frame = frame.assign(
        served=["yes" if s else "" for s in frame["served"]],
        policy=[p["policy_version"] for p in frame["params"]],
        seconds=[round(sum(t.values()), 1) for t in frame["timings"]],
        rings=[c.get("rings") for c in frame["counts"]], high=[c.get("band_high") for c in frame["counts"]])
    console.print(_table(frame[["run_id", "served", "created_at", "as_of", "seed", "policy", "seconds", "rings",
                                "high", "decision", "reason"]], "re-score runs"))


@app.command()
def promote(
    run: Annotated[str, typer.Argument(help="The run to serve.")],
    db: DbOption = DEFAULT_DB,
    reason: Annotated[str, typer.Option(help="Why, for the promotion log.")] = "promoted by hand",
) -> None:
    """Serve RUN from now on: the API, score-on-write and the next run's ring ids read it."""
    with _service(db, readonly=False) as service:
        entry = service.promote(run, reason)
    console.print(f"served from now on: {entry['run_id']}"
                  + (f" (was {entry['replaces']})" if entry["replaces"] else ""), markup=False)


@app.command()
def rollback(
    db: DbOption = DEFAULT_DB,
    reason: Annotated[str, typer.Option(help="Why, for the promotion log.")] = "rolled back by hand",
) -> None:
    """Serve again the run served before the current one."""
    with _service(db, readonly=False) as service:
        entry = service.rollback(reason)
    console.print(f"served from now on: {entry['run_id']} (rolled back from {entry['replaces']})", markup=False)


@app.command()
def rings(
    db: DbOption = DEFAULT_DB,
    top: Annotated[int | None, typer.Option(help="Rings shown, by descending risk (default: 10 in a table, "
                                                 "all in json and csv).")] = None,
    run: RunOption = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """The riskiest rings of a run with their features."""
    if top is None and output == "table":
        top = 10
    with _service(db) as service:
        frame = service.rings(top=top, run_id=run)
        run_id = service.run_id(run)
    if output == "json":
        typer.echo(frame.to_json(orient="records", indent=2))
    elif output == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        shown = ["ring_id", "size", "risk", "fraud", "default", "velocity", "devices_per_member",
                 "cross_listing", "agent_share", "subnet_share"]
        title = f"top {top} rings of {run_id}" if len(frame) else f"run {run_id} has no rings"
        console.print(_table(frame.reindex(columns=shown), title))  # a run without rings has no feature columns


@app.command()
def scores(
    out: Annotated[Path, typer.Option(help="Output file.")],
    db: DbOption = DEFAULT_DB,
    run: RunOption = None,
    output: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Export every applicant's score, band, ring and reasons."""
    with _service(db) as service:
        frame = service.scores(run_id=run)
    if output not in ("parquet", "csv"):
        raise _fail(ValueError(f"--format {output!r}: use csv or parquet"))
    write_frame(frame, out, output)
    console.print(f"{len(frame):,} scores written to {out}")


@app.command()
def explain(
    applicant_id: Annotated[str, typer.Argument(help="The applicant to explain.")],
    db: DbOption = DEFAULT_DB,
    run: RunOption = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Why an applicant scored what it did: reasons and evidence paths."""
    from graphsvc.analytics.explain import as_text

    with _service(db) as service:
        explanation = service.explain(applicant_id, run_id=run)
    if output == "json":
        typer.echo(json.dumps(explanation, indent=2, ensure_ascii=False))
    else:
        typer.echo(as_text(explanation))


@app.command()
def skiptrace(
    db: DbOption = DEFAULT_DB,
    applicant_id: Annotated[str | None, typer.Argument(help="The borrower to reach.")] = None,
    all_lost_contact: Annotated[bool, typer.Option("--all-lost-contact", help="Every lost-contact borrower.")] = False,
    out: Annotated[Path | None, typer.Option(help="Batch output (CSV or Parquet by suffix).")] = None,
    limit: Annotated[int, typer.Option(help="Candidates per borrower.")] = 10,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Ranked ways to reach a borrower (own channels first, third parties only to ask for the borrower)."""
    import pandas as pd

    with _service(db) as service:
        if all_lost_contact:
            if out is None:
                raise _fail(ValueError("--all-lost-contact needs --out FILE"))
            borrowers = service.lost_contact()
            frames = []
            bar = _progress_bar()
            with bar:
                task = bar.add_task("skip-tracing", total=len(borrowers))
                for borrower in borrowers:
                    frames.append(service.skiptrace(borrower, limit=limit).assign(applicant_id=borrower))
                    bar.advance(task)
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            write_frame(frame, out, "parquet" if out.suffix == ".parquet" else "csv")
            console.print(f"{len(borrowers):,} borrowers, {len(frame):,} candidates written to {out}")
            return
        if applicant_id is None:
            raise _fail(ValueError("give APPLICANT_ID or --all-lost-contact"))
        frame = service.skiptrace(applicant_id, limit=limit)
    if output == "json":
        typer.echo(frame.to_json(orient="records", indent=2, force_ascii=False))
    else:
        console.print(_table(frame, f"how to reach {applicant_id}"))


@app.command("skiptrace-eval")
def skiptrace_eval(
    truth: Annotated[Path, typer.Option(help="truth_lost_contact file of a generated scenario.")],
    db: DbOption = DEFAULT_DB,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Hit@1, hit@3, MRR and coverage of skip-tracing against generated truth, per route."""
    import pandas as pd

    frame = pd.read_parquet(truth) if truth.suffix == ".parquet" else pd.read_csv(truth)
    with _service(db) as service:
        bar = _progress_bar()
        with bar:
            task = bar.add_task("skip-tracing", total=len(frame))
            figures = service.skiptrace_eval(frame, progress=lambda _d, done, total: bar.update(
                task, completed=done, total=total))
    if output == "json":
        typer.echo(figures.to_json(orient="records", indent=2))
    else:
        console.print(_table(figures, "skip-trace evaluation"))


@app.command()
def picture(
    out: Annotated[Path, typer.Option(help="Output: .png, .html (offline, interactive), .graphml or .gexf.")],
    db: DbOption = DEFAULT_DB,
    applicant: Annotated[str | None, typer.Option(help="Draw this applicant's neighbourhood.")] = None,
    ring: Annotated[str | None, typer.Option(help="Draw this ring of the served run.")] = None,
    hops: Annotated[int, typer.Option(help="Neighbourhood depth in edges (2: applicants sharing).")] = 2,
) -> None:
    """Draw an applicant's neighbourhood or a ring, or export it for Gephi and yEd."""
    from graphsvc.present.pictures import save

    if (applicant is None) == (ring is None):
        raise _fail(ValueError("give exactly one of --applicant and --ring"))
    with _service(db) as service:
        graph = service.ring_graph(ring) if ring else service.ego_network(applicant, hops=hops)
        try:
            written = save(graph, out, title=f"ring {ring}" if ring else f"{applicant}, {hops} hops")
        except (GraphsvcError, ValueError) as exc:
            raise _fail(exc) from exc
    console.print(f"{graph.number_of_nodes()} nodes and {graph.number_of_edges()} links drawn to {written}")


@app.command()
def report(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    run: RunOption = None,
    top: Annotated[int, typer.Option(help="Rings drawn, by descending risk.")] = 10,
    backtest_file: Annotated[Path | None, typer.Option(
        "--backtest", help="Figures of `graphsvc backtest --format json`.")] = None,
) -> None:
    """A self-contained HTML report of a re-score run: rings drawn, scores, hubs, backtest."""
    from graphsvc.present import report as run_report

    with _service(db) as service:
        written = run_report.write(service, out, run_id=run, top=top, backtest=run_report.read_backtest(backtest_file))
    console.print(f"report written to {written}")
