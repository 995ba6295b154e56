"""Commands that fill the store: load, generate, info, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from graphsvc.cli.common import DEFAULT_DB, DbOption, _fail, _progress_bar, _require_store, _table, app, console
from graphsvc.errors import GraphsvcError
from graphsvc.ingest.contract import TOKENISED

ApplicationsOption = Annotated[Path | None, typer.Option(help="Applications file (CSV or Parquet).")]
ContactsOption = Annotated[Path | None, typer.Option(help="Contacts file.")]
OutcomesOption = Annotated[Path | None, typer.Option(help="Outcomes file.")]
RelationsOption = Annotated[Path | None, typer.Option(help="Relations file.")]
ApplicantsOption = Annotated[Path | None, typer.Option(help="Applicant register file.")]
IdentifiersOption = Annotated[Path | None, typer.Option(help="Identifier sightings file.")]
SourceOption = Annotated[Path | None, typer.Option(help="A source mapping, e.g. loaders/p2p.toml.")]
DataDirOption = Annotated[Path | None, typer.Option(help="Folder of the mapping's files.")]
KindOption = Annotated[list[str], typer.Option(help="Extra identifier column of applications: COLUMN=KIND.")]


def sources_of(files: dict[str, Path | None], source: Path | None, data_dir: Path | None, kind: list[str]):
    """The table sources a command's file options name (contract files, a mapping or both)."""
    from graphsvc.ingest.sources import canonical_sources, read_mapping

    try:
        kinds = dict(item.split("=", 1) for item in kind)
    except ValueError:
        raise _fail(ValueError("--kind takes COLUMN=KIND")) from None
    sources = canonical_sources(files, kinds)
    if source is not None:
        sources += read_mapping(source, data_dir)
    if not sources:
        raise _fail(ValueError("nothing to load: give table files or --source"))
    return sources


def _print_summary(summary, title: str) -> None:
    """A load summary as a table without the count columns that are zero in every file
    (named below it; ``--format json`` has them all), so that it reads at 80 columns."""
    quiet = [c for c in ("duplicates", "rejected", "quarantined", "filtered", "pending", "attached", "already_loaded")
             if not summary[c].any()]
    if not summary["rejected_by_reason"].astype(bool).any():
        quiet.append("rejected_by_reason")
    console.print(_table(summary.drop(columns=quiet), title))
    if quiet:
        console.print(f"zero in every file: {', '.join(quiet)}")


@app.command()
def load(
    db: DbOption = DEFAULT_DB,
    applications: ApplicationsOption = None,
    contacts: ContactsOption = None,
    outcomes: OutcomesOption = None,
    relations: RelationsOption = None,
    applicants: ApplicantsOption = None,
    identifiers: IdentifiersOption = None,
    source: SourceOption = None,
    data_dir: DataDirOption = None,
    kind: KindOption = [],  # noqa: B006
    rejects: Annotated[Path | None, typer.Option(help="Rejects report (CSV); default: next to --db.")] = None,
    output: Annotated[str, typer.Option("--format", help="Summary as table or json.")] = "table",
) -> None:
    """Load contract files or a mapped source into the store.

    Bad rows are rejected with a reason into the rejects report; the rest loads.
    Re-running a load skips what is done, so it also resumes a killed load.
    """
    import graphsvc

    files = {"applicants": applicants, "applications": applications, "identifiers": identifiers,
             "contacts": contacts, "outcomes": outcomes, "relations": relations}
    try:
        sources = sources_of(files, source, data_dir, kind)
        with graphsvc.open(db) as service:
            report = _load_with_progress(service, sources)
    except GraphsvcError as exc:
        raise _fail(exc) from exc
    path = report.write_rejects(rejects or db.with_suffix(".rejects.csv"))
    summary = report.summary()
    if output == "json":
        typer.echo(json.dumps({"files": summary.to_dict(orient="records"), "rejects_report": str(path)}, indent=2))
    else:
        _print_summary(summary, "load summary")
        console.print(f"rejects report: {path} ({len(report.rejects)} rows)")


def _load_with_progress(service, sources):
    """Run a load under a rich progress bar (rows done of rows in all files)."""
    bar = _progress_bar()
    with bar:
        task = bar.add_task("loading", total=None)
        return service.load(sources, progress=lambda description, done, total: bar.update(
            task, completed=done, total=total, description=description))


@app.command()
def generate(
    applicants: Annotated[int, typer.Option(help="Number of applicants.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("generated"),
    output: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    ring_share: Annotated[float, typer.Option(help="Share of applicants in fraud rings.")] = 0.02,
    ring_fraud_rate: Annotated[float, typer.Option(help="Share of ring members with a fraud outcome.")] = 0.3,
    population: Annotated[str, typer.Option(help="households (families, carrier NAT, hotlines) or skewed "
                                                 "(random skewed sharing, nothing else)")] = "households",
) -> None:
    """Generate a synthetic scenario with planted rings and its truth files."""
    from graphsvc.scenarios import Scenario
    from graphsvc.scenarios import generate as run_generate

    try:
        summary = run_generate(Scenario(applicants, seed, ring_share, ring_fraud_rate, population=population),
                               out, output)
    except ValueError as exc:
        raise _fail(exc) from exc
    console.print_json(json.dumps(summary, ensure_ascii=False))


@app.command()
def info(db: DbOption = DEFAULT_DB,
         top: Annotated[int, typer.Option(help="Shared identifiers shown per kind.")] = 5) -> None:
    """What the graph holds: counts per kind and the most shared identifiers."""
    import graphsvc

    _require_store(db)
    try:
        with graphsvc.open(db, readonly=True) as service:
            show_graph(service, top)
    except GraphsvcError as exc:
        raise _fail(exc) from exc


def show_graph(service, top: int) -> None:
    """Print counts, the facts waiting for their applicant and the most shared identifiers of each kind."""
    counts = service.counts()
    rows = [{"what": group, "kind": k, "count": v} for group, values in counts.items() for k, v in values.items()]
    console.print(_table(pd.DataFrame(rows), "what the graph holds"))
    waiting = service.pending()
    if len(waiting):
        now = pd.Timestamp.now(tz="UTC")
        oldest = pd.to_datetime(waiting["oldest"], unit="s", utc=True)
        shown = pd.DataFrame({"table": waiting["table"], "rows": waiting["rows"],
                              "oldest": oldest.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "age": [_age(now - t) for t in oldest]})
        console.print(_table(shown, "pending: facts waiting for their applicant (attached when it is loaded)"))
    else:
        console.print("pending: no fact waits for its applicant")
    open_reviews = len(service.reviews(status="open"))
    console.print(f"personal information: {len(service.tombstones())} tombstones of erased people, "
                  f"{open_reviews} open request{'s' if open_reviews != 1 else ''} for human review", markup=False)
    for kind in sorted(k for k in counts["nodes"] if k != "applicant"):
        shared = service.shared_identifiers(kind)
        if not len(shared):
            continue
        flagged = (shared["fraud"] > 0).sum()
        title = f"most shared {kind} ({len(shared)} shared by 2+ applicants, {flagged} with a fraud holder)"
        if kind in TOKENISED:  # HMAC tokens say nothing to a reader
            console.print(title)
            continue
        console.print(_table(shared.head(top)[["value", "degree", "fraud", "fraud_share"]], title))


def _age(delta: pd.Timedelta) -> str:
    """A duration as a reader says it: 3 d 4 h, 2 h 5 min, 40 s."""
    seconds = max(int(delta.total_seconds()), 0)
    days, hours, minutes = seconds // 86_400, seconds % 86_400 // 3_600, seconds % 3_600 // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the sample data, key and store.")] = Path("demo-data"),
    applicants: Annotated[int, typer.Option(help="Applicants in the generated sample.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed of the sample.")] = 7,
) -> None:
    """Generate a sample, load it into an embedded store and show what it holds."""
    import graphsvc
    from graphsvc.ingest.sources import canonical_sources
    from graphsvc.scenarios import TABLE_FILES, Scenario
    from graphsvc.scenarios import generate as run_generate
    from graphsvc.settings import Settings, ensure_demo_key

    settings = Settings(hmac_key_file=ensure_demo_key(workdir / "hmac.key"))
    data = workdir / f"sample-{applicants}-{seed}"
    if not (data / "truth.json").exists():
        console.print(f"generating {applicants:,} applicants (seed {seed}) into {data}")
        run_generate(Scenario(applicants, seed), data)
    db = workdir / "graph.db"
    sources = canonical_sources({t: data / f"{t}.parquet" for t in TABLE_FILES})
    with graphsvc.open(db, settings=settings) as service:
        report = _load_with_progress(service, sources)
    _print_summary(report.summary(), f"load into {db}")
    report.write_rejects(workdir / "rejects.csv")
    with graphsvc.open(db, readonly=True, settings=settings) as service:
        show_graph(service, top=5)
    with graphsvc.open(db, settings=settings) as service:
        show_scoring(service)
        show_skiptrace(service)
        from graphsvc.present.pictures import save

        top = service.rings(top=1)
        if len(top):
            ring = top["ring_id"].iloc[0]
            page = save(service.ring_graph(ring), workdir / f"ring-{ring}.html", title=f"ring {ring}")
            console.print(f"\nthe riskiest ring, drawn: {page} (offline; open it in a browser)")
    console.print(f"\nexplore it: graphsvc rings --db {db}, graphsvc explain APPLICANT_ID --db {db}, "
                  f"or in Python: graphsvc.open('{db}')")


def show_skiptrace(service) -> None:
    """Skip-trace the first lost-contact borrower."""
    lost = service.lost_contact()
    if not lost:
        return
    found = service.skiptrace(lost[0], limit=5)
    console.print(f"\n{len(lost):,} borrowers have lost contact; graphsvc skiptrace {lost[0]}:")
    console.print(_table(found[["rank", "phone", "channel", "evidence", "relation", "confidence", "usage"]],
                         f"how to reach {lost[0]}"))


def show_scoring(service, top: int = 5, explained: int = 2) -> None:
    """Re-score, then print the top rings and explain a few high scores without fraud of their own."""
    from graphsvc.analytics.explain import as_text
    from graphsvc.cli.scoring import _with_progress

    run = _with_progress(lambda progress: service.rescore(progress=progress))
    console.print(f"\nre-scored as run {run['run_id']} in {sum(run['timings'].values()):.1f} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in run["counts"].items()))
    shown = ["ring_id", "size", "risk", "fraud", "default", "velocity", "devices_per_member", "agent_share"]
    console.print(_table(service.rings(top=top)[shown], f"top {top} rings"))
    scores = service.scores()
    unlabelled = scores[scores["reasons"].notna() & ~scores["reasons"].fillna("").str.contains("CONFIRMED_FRAUD")]
    for applicant in unlabelled.sort_values(["score", "applicant_id"], ascending=[False, True])[
            "applicant_id"].head(explained):
        console.print(as_text(service.explain(applicant)), highlight=False, markup=False)


