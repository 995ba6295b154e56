"""What every command module shares: the typer app and its ``--backend`` callback, the
console, the ``--db`` option, and the error, table and progress helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

app = typer.Typer(help="Graph-based fraud-ring and relationship analysis for consumer lenders.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()

DbOption = Annotated[Path, typer.Option(
    "--db", help="Embedded store file (created when missing); ignored with --backend neo4j.")]
DEFAULT_DB = Path("graphsvc.db")


@app.callback()
def main(
    backend: Annotated[str | None, typer.Option(
        "--backend", help="embedded (default, the --db file) or neo4j (GRAPHSVC_NEO4J_URI, _USER, "
                          "_PASSWORD, _DATABASE). Same as GRAPHSVC_BACKEND.")] = None,
) -> None:
    """Graph-based fraud-ring and relationship analysis for consumer lenders."""
    if backend is not None:
        if backend not in ("embedded", "neo4j"):
            raise typer.BadParameter("embedded or neo4j", param_hint="--backend")
        # the environment carries the choice into settings and into child processes (re-score jobs)
        os.environ["GRAPHSVC_BACKEND"] = backend
        from graphsvc.settings import use_settings

        use_settings(None)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(str(exc))}")  # a message's [[tables]] is text, not markup
    return typer.Exit(code=2)


def _require_store(db: Path) -> None:
    """Stop with an error when the embedded store file is missing (Neo4j needs no file)."""
    from graphsvc.settings import get_settings

    if get_settings().backend == "embedded" and not Path(db).exists():
        raise _fail(FileNotFoundError(f"no store at {db}"))


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if frame[column].dtype.kind in "iuf" else "left",
                         overflow="fold")  # narrow terminals fold cells; nothing is cut off
    for row in frame.itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    return table


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)
