"""``precert policy``: check policy packs and list the payer catalog.

``precert policy check PACK...`` loads each pack (schema errors with file, line and
column), then lints the set together: overlapping rules of one layer that disagree,
codes that do not exist, rules already expired. It prints a summary table and exits
1 when any error was found (expired rules are warnings).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from precert.policy import PackError, PolicyEngine, load_packs, payer_catalog
from precert.policy.check import Finding, Severity, check_packs
from precert.policy.loader import PackProblem, load_pack
from precert.policy.model import PolicyPack

app = typer.Typer(
    help="Check policy packs and list the payers they describe.", no_args_is_help=True
)


def _source_kind(pack: PolicyPack) -> str:
    """How the pack's rules are backed: cited law, an illustration, or a fictional payer."""
    if pack.info.fictional:
        return "fictional"
    return "illustrative" if pack.info.source == "illustrative example" else "cited"


def _summary(
    packs: list[PolicyPack], problems: list[PackProblem], findings: list[Finding]
) -> Table:
    table = Table(title="Policy packs")
    for column in ("pack", "layer", "version", "payer", "rules", "errors", "warnings", "source"):
        table.add_column(
            column, justify="right" if column in ("rules", "errors", "warnings") else "left"
        )
    for pack in packs:
        mine = [f for f in findings if f.pack_path == pack.info.path]
        table.add_row(
            pack.info.id,
            pack.info.layer.label,
            pack.info.version,
            pack.payer.display_name if pack.payer else "",
            str(len(pack.rules)),
            str(sum(f.severity is Severity.ERROR for f in mine)),
            str(sum(f.severity is Severity.WARNING for f in mine)),
            _source_kind(pack),
        )
    for file in sorted({p.file for p in problems}):
        count = sum(p.file == file for p in problems)
        table.add_row(Path(file).name, "", "", "", "", str(count), "0", "did not load", style="red")
    return table


@app.command()
def check(
    packs: Annotated[list[Path], typer.Argument(help="Policy pack YAML files")],
    today: Annotated[
        str | None, typer.Option(help="Judge expiry as of this date (YYYY-MM-DD); default today")
    ] = None,
) -> None:
    """Validate and lint PACKS; exit 1 if any has an error."""
    console = Console()
    as_of = date.fromisoformat(today) if today else date.today()
    loaded: list[PolicyPack] = []
    problems: list[PackProblem] = []
    for path in packs:
        try:
            loaded.append(load_pack(path))
        except PackError as exc:
            problems.extend(exc.problems)
    if not problems:
        # Cross-pack checks (duplicate pack and rule ids) need the set loaded together.
        try:
            load_packs(packs)
        except PackError as exc:
            problems.extend(exc.problems)
    findings = check_packs(loaded, as_of, PolicyEngine(loaded).classify) if loaded else []
    for problem in problems:
        console.print(f"[red]error[/red] {problem}")
    for finding in findings:
        colour = "red" if finding.severity is Severity.ERROR else "yellow"
        console.print(
            f"[{colour}]{finding.severity.value}[/{colour}] {finding.pack_path}: "
            f"rule {finding.rule_id}: {finding.message}"
        )
    console.print(_summary(loaded, problems, findings))
    if problems or any(f.severity is Severity.ERROR for f in findings):
        raise typer.Exit(1)


@app.command()
def payers() -> None:
    """List the payers the shipped packs describe."""
    table = Table(title="Payer catalog (shipped packs)")
    for column in ("id", "name", "lines of business", "X12 id", "prior-auth phone"):
        table.add_column(column)
    for payer in payer_catalog(None):
        table.add_row(
            payer.id,
            payer.display_name + (" (fictional)" if payer.fictional else ""),
            ", ".join(lob.value for lob in payer.lines_of_business),
            payer.x12_payer_id,
            payer.prior_auth_phone,
        )
    Console().print(table)
