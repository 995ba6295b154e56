"""Commands of the HTTP API (serve, apikey, audit), the Cypher library (query) and subject access."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from graphsvc.cli.common import DEFAULT_DB, DbOption, _fail, _require_store, _table, app, console
from graphsvc.errors import MissingExtraError


@app.command()
def serve(
    db: DbOption = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=0, help="Worker processes sharing the port and the store (0: one per CPU core).")] = 0,
    session_key: Annotated[str | None, typer.Option(
        help="Also admit a fresh key of this role (underwriter, investigator, collector, admin) for this process "
             "only: printed once, for trying the console and the API without configuring GRAPHSVC_API_KEYS.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the investigators' console (/ui) over the store with uvicorn.

    Several workers share the store: score-on-write commits one application at a time,
    whichever worker takes it; metrics add up across them; a key's rate limit is split
    between them."""
    try:
        import uvicorn

        from graphsvc.api import create_app, serving
        from graphsvc.api.security import new_key
    except ImportError as exc:
        raise _fail(MissingExtraError(f"the API needs its extra: pip install 'graphsvc[api]' ({exc})")) from exc
    from graphsvc.settings import ApiKey, get_settings

    settings = get_settings()
    workers = workers or os.cpu_count() or 1
    if session_key is not None:
        _check_role("--session-key", session_key)
        key, key_digest = new_key()
        entry = ApiKey(name=f"session-{session_key}", role=session_key)
        settings = settings.model_copy(update={"api_keys": {**settings.api_keys, key_digest: entry}})
        typer.echo(f"key of role {session_key} for this process only (shown once): {key}")
    try:
        application = create_app(db, settings) if workers == 1 else serving.check(db, settings)
    except FileNotFoundError as exc:
        raise _fail(exc) from exc
    typer.echo(f"console: http://{host}:{port}/ui/ · API: http://{host}:{port}/docs"
               + (f" · {workers} workers" if workers > 1 else ""))
    if application is not None:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
        return
    with serving.shared(db, settings, workers):
        uvicorn.run(serving.FACTORY, factory=True, host=host, port=port, workers=workers, log_level="warning",
                    access_log=False)


@app.command()
def apikey(
    name: Annotated[str, typer.Option(help="Who holds the key (shown in the audit trail).")],
    role: Annotated[str, typer.Option(help="underwriter, investigator, collector or admin")],
) -> None:
    """Make an API key: prints the key once, and the GRAPHSVC_API_KEYS entry that admits it."""
    from graphsvc.api.security import new_key

    _check_role("--role", role)
    key, key_digest = new_key()
    typer.echo(f"key for {name} (shown once, stored nowhere): {key}")
    typer.echo(f"GRAPHSVC_API_KEYS entry: {json.dumps({key_digest: {'name': name, 'role': role}})}")


def _check_role(option: str, role: str) -> None:
    """Refuse (exit 2) a role the API does not know."""
    from graphsvc.settings import Role

    if role not in {r.value for r in Role}:
        raise _fail(ValueError(f"{option} {role!r}: one of {', '.join(r.value for r in Role)}"))


@app.command()
def audit(
    db: DbOption = DEFAULT_DB,
    subject: Annotated[str | None, typer.Option(help="Only rows about this applicant.")] = None,
    limit: Annotated[int, typer.Option(help="Newest rows shown.")] = 50,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Who saw whose personal data, when, through which route and for what purpose."""
    import graphsvc

    _require_store(db)
    with graphsvc.open(db, readonly=True) as service:
        rows = service.access_log(limit=limit, subject=subject)
    if output == "json":
        typer.echo(rows.to_json(orient="records", indent=2))
    else:
        rows["subjects"] = [", ".join(s[:5]) + (" ..." if len(s) > 5 else "") for s in rows["subjects"]]
        console.print(_table(rows, f"audit trail of {db}"))


@app.command()
def query(
    name: Annotated[str | None, typer.Argument(
        help="Query name, e.g. investigate/contact_cycles; none lists them.")] = None,
    param: Annotated[list[str], typer.Option("--param", "-p", help="KEY=VALUE (VALUE as JSON when it parses).")] = [],  # noqa: B006
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List the Cypher query library, or run a named query on the neo4j backend."""

    import graphsvc
    from graphsvc.errors import ConfigurationError, GraphsvcError
    from graphsvc.service import query_library

    if name is None:
        rows = query_library()
        console.print(_table(rows, "queries/ (run with --backend neo4j query NAME -p KEY=VALUE)"))
        return
    parameters = {}
    for item in param:
        key, sep, text = item.partition("=")
        if not sep:
            raise _fail(ValueError(f"--param takes KEY=VALUE, got {item!r}"))
        try:
            parameters[key] = json.loads(text)
        except json.JSONDecodeError:
            parameters[key] = text
    from graphsvc.settings import get_settings

    try:
        if get_settings().backend != "neo4j":
            raise ConfigurationError("named Cypher queries run on the neo4j backend only: "
                                     "graphsvc --backend neo4j query ...")
        with graphsvc.open(readonly=True) as service:
            rows = service.query(name, **parameters)
    except (GraphsvcError, KeyError, ValueError) as exc:
        raise _fail(exc) from exc
    if output == "json":
        typer.echo(rows.to_json(orient="records", force_ascii=False, indent=2))
    else:
        console.print(_table(rows, name))


def _caller() -> str:
    """Who runs a command, as the audit trail names CLI callers."""
    import getpass

    return f"cli:{getpass.getuser()}"


def _audited(service, command: str, subjects: list[str], purpose: str | None = None) -> None:
    """Record a command's access to personal data in the audit trail (as an admin)."""
    service.record_access(_caller(), "admin", command, "CLI", 200, subjects, purpose=purpose)


subject_app = typer.Typer(help="Personal information held about one person (subject access, erasure).",
                          no_args_is_help=True)
app.add_typer(subject_app, name="subject")


@subject_app.command("export")
def subject_export(
    applicant_id: Annotated[str, typer.Argument(help="The person, by applicant id.")],
    out: Annotated[Path, typer.Option(help="The file to write: .json, or .html for a readable page.")],
    purpose: Annotated[str, typer.Option(help="Why (recorded in the audit trail), e.g. 'subject access request 42'.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Everything held about APPLICANT_ID, for them to read; the export is audited."""
    import graphsvc
    from graphsvc.errors import GraphsvcError
    from graphsvc.files import write_text
    from graphsvc.people.subject import to_html

    if len(purpose.strip()) < 3:
        raise _fail(ValueError("--purpose must say why (3 characters or more)"))
    if out.suffix.lower() not in (".json", ".html"):
        raise _fail(ValueError("--out must end in .json or .html"))
    _require_store(db)
    try:
        with graphsvc.open(db) as service:
            found = service.subject_access(applicant_id)
            _audited(service, "graphsvc subject export", [applicant_id], purpose.strip())
    except GraphsvcError as exc:
        raise _fail(exc) from exc
    text = to_html(found) if out.suffix.lower() == ".html" else json.dumps(found, indent=2, ensure_ascii=False)
    write_text(out, text)
    console.print(f"wrote {out}: {len(found['applications'])} applications, {len(found['identifiers'])} "
                  f"identifiers, {len(found['scores'])} scores, {len(found['access'])} accesses", markup=False)


@subject_app.command("forget")
def subject_forget(
    applicant_id: Annotated[str, typer.Argument(help="The person, by applicant id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail), e.g. 'erasure request 42'.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Erase APPLICANT_ID for good: their data leaves the store and every run's results
    in one audited transaction, and tombstones keep later loads from bringing it back."""
    import graphsvc
    from graphsvc.errors import GraphsvcError

    _require_store(db)
    try:
        with graphsvc.open(db) as service:
            done = service.forget(applicant_id, reason, caller=_caller(), dry_run=dry_run)
    except (GraphsvcError, ValueError) as exc:
        raise _fail(exc) from exc
    kinds = ", ".join(f"{n} {k}" for k, n in done["identifiers_removed"].items()) or "none"
    if dry_run:
        console.print(f"would forget {applicant_id}: identifiers {kinds}; {done['tombstones']} tombstones",
                      markup=False)
        return
    rows = ", ".join(f"{n} {what}" for what, n in done["removed"].items() if n) or "nothing else"
    console.print(f"forgot {applicant_id} (now {done['label']} in other applicants' reasons): removed {rows}; "
                  f"identifiers {kinds}; {done['tombstones']} tombstones", markup=False)


review_app = typer.Typer(help="Human review of automated decisions (requests, outcomes).", no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("request")
def review_request(
    applicant_id: Annotated[str, typer.Argument(help="The person asking, by applicant id.")],
    reason: Annotated[str | None, typer.Option(help="The person's words.")] = None,
    application: Annotated[str | None, typer.Option(help="The application whose decision is asked about.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """File APPLICANT_ID's request for a person to review the automated decision on them."""
    import graphsvc
    from graphsvc.errors import GraphsvcError

    _require_store(db)
    try:
        with graphsvc.open(db) as service:
            found = service.request_review(applicant_id, by=_caller(), reason=reason,
                                           application_id=application)
            _audited(service, "graphsvc review request", [applicant_id])
    except GraphsvcError as exc:
        raise _fail(exc) from exc
    console.print(f"review {found['review_id']} opened for {applicant_id}", markup=False)


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option(help="open, closed or all.")] = "open",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Review requests, newest first."""
    import graphsvc

    if status not in ("open", "closed", "all"):
        raise _fail(ValueError("--status must be open, closed or all"))
    _require_store(db)
    with graphsvc.open(db) as service:
        rows = service.reviews(status=None if status == "all" else status)
        _audited(service, "graphsvc review list", rows["applicant_id"].tolist())
    if not len(rows):
        console.print(f"no {'' if status == 'all' else status + ' '}review requests", markup=False)
        return
    console.print(_table(rows[["review_id", "applicant_id", "requested_at", "requested_by", "status", "outcome",
                               "reason"]], f"review requests ({status})"))


@review_app.command("close")
def review_close(
    review_id: Annotated[str, typer.Argument(help="The review, by id (rv-...).")],
    outcome: Annotated[str, typer.Option(help="upheld (the decision stands) or changed.")],
    note: Annotated[str, typer.Option(help="What the review found.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Close an open review with its outcome and what the reviewer found."""
    import graphsvc
    from graphsvc.errors import GraphsvcError

    _require_store(db)
    try:
        with graphsvc.open(db) as service:
            found = service.close_review(review_id, by=_caller(), outcome=outcome, note=note)
            _audited(service, "graphsvc review close", [found["applicant_id"]])
    except (GraphsvcError, ValueError) as exc:
        raise _fail(exc) from exc
    console.print(f"review {review_id} closed: {outcome}", markup=False)


retention_app = typer.Typer(help="Retention: forget applicants kept past their retention period.",
                            no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list who is past the period.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Apply as of this date (default: now).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Retention rules as JSON (docs/privacy.md).")] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the report to this CSV file.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Forget every applicant whose newest application or outcome is older than its
    retention period, as `graphsvc subject forget` does, and remove every contact link
    past its source's period; report what was purged."""
    import graphsvc
    from graphsvc.errors import GraphsvcError
    from graphsvc.files import write_frame

    _require_store(db)
    try:
        with graphsvc.open(db) as service:
            done = service.retention(rules, as_of=as_of, dry_run=dry_run, caller=_caller())
        found, contacts = done["applicants"], done["contact_links"]
    except (GraphsvcError, ValueError) as exc:
        raise _fail(exc) from exc
    if report is not None and len(found):
        write_frame(found, report, "csv")
    verb = "past their retention period" if dry_run else "forgotten"
    console.print(f"{len(found)} applicants {verb}, {contacts} contact links "
                  f"{'past theirs' if dry_run else 'removed'} ({done['rules_version']})", markup=False)
    if len(found):
        console.print(_table(found.head(20), "retention" + (" (first 20)" if len(found) > 20 else "")))
