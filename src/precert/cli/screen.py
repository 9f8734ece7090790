"""``precert screen FILE``: screen a whole schedule for lines that need prior authorization.

The file formats, the checks and the annotated CSV are described in
``precert.services.screening``, which the ``POST /v1/screenings`` job shares. This
module adds the progress bar and the summary table.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from precert.policy import PackError, PolicyEngine, load_packs, shipped_engine
from precert.services.screening import ScreenSummary, screen_csv, screen_ndjson


def summary_table(summary: ScreenSummary) -> Table:
    """The run's summary: lines and lines needing PA by payer and category, missed deadlines."""
    table = Table(title=f"Screened {summary.lines:,} lines ({summary.rejected:,} rows rejected)")
    for column in ("payer", "category", "lines", "need PA", "deadline missed"):
        table.add_column(column, justify="right" if column[0] in "ldn" else "left")
    for payer, category in sorted(summary.screened):
        key = (payer, category)
        table.add_row(
            payer,
            category,
            f"{summary.screened[key]:,}",
            f"{summary.needing_auth[key]:,}",
            f"{summary.missed[key]:,}",
        )
    table.add_row(
        "total",
        "",
        f"{summary.lines:,}",
        f"{sum(summary.needing_auth.values()):,}",
        f"{sum(summary.missed.values()):,}",
        style="bold",
    )
    return table


def screen(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or NDJSON")],
    out: Annotated[Path | None, typer.Option(help="Annotated CSV to write")] = None,
    pack: Annotated[
        list[Path] | None, typer.Option(help="Policy packs to use instead of the shipped ones")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Screen as of this date (YYYY-MM-DD); default today")
    ] = None,
    show_errors: Annotated[int, typer.Option(help="How many bad rows to list")] = 20,
) -> None:
    """Screen FILE, write the annotated CSV and print a summary."""
    console = Console()
    try:
        engine = PolicyEngine(load_packs(pack)) if pack else shipped_engine()
    except PackError as exc:
        console.print(f"[red]policy packs do not load:[/red]\n{exc}")
        raise typer.Exit(2) from exc
    as_of = date.fromisoformat(today) if today else date.today()
    target = out or file.with_suffix(".screened.csv")
    ndjson = file.suffix.lower() in (".ndjson", ".jsonl")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        run = screen_ndjson if ndjson else screen_csv
        summary = run(file, target, engine, as_of, progress)
    console.print(summary_table(summary))
    for number, reason in summary.errors[:show_errors]:
        console.print(f"[yellow]line {number}[/yellow]: {reason}")
    if summary.rejected > show_errors:
        console.print(f"... and {summary.rejected - show_errors:,} more rejected rows")
    console.print(f"annotated schedule written to {target}")


#: A one-command app, so ``screen`` runs on its own as well as under ``precert``.
app = typer.Typer(help="Screen a schedule for lines that need prior authorization.")
app.command()(screen)
