"""The ``graphsvc`` command line: loading (:mod:`.loading`) and scoring (:mod:`.scoring`).

Run as ``graphsvc`` (console script) or ``python -m graphsvc.cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
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

DbOption = Annotated[Path, typer.Option("--db", help="Embedded store file (created when missing).")]


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if frame[column].dtype.kind in "iuf" else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    return table



def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


from graphsvc.cli import loading, scoring, serving  # noqa: E402,F401 - registers the commands
