"""``precert report``: the CMS-0057-F public report, as text, CSV or JSON on standard output."""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer
from rich.console import Console

from precert.analytics import cms0057f
from precert.bootstrap import bootstrap
from precert.domain.authorization import Actor, Role
from precert.services import analytics
from precert.services.access import AccessContext

err = Console(stderr=True)
app = typer.Typer(help="Reports.", no_args_is_help=True)


@app.command("cms-0057-f")
def cms_0057_f(
    year: Annotated[int, typer.Option("--year", min=2000, max=2100, help="Calendar year")],
    form: Annotated[
        Literal["text", "csv", "json"], typer.Option("--format", help="text, csv or json")
    ] = "text",
    org: Annotated[str, typer.Option("--org", help="Organization slug")] = "demo",
    payer: Annotated[str | None, typer.Option("--payer", help="Only this payer")] = None,
) -> None:
    """The CMS-0057-F yearly prior-authorization report (the run is audited).

    Counts the rule's scope only: Medicare Advantage, Medicaid and exchange
    requests, drug requests excluded (docs/metrics.md).
    """
    precert = bootstrap()
    with precert.uow() as uow:
        organization = uow.directory.organization_by_slug(org)
        if organization is None:
            err.print(f"[red]error:[/red] no organization with slug {org!r}")
            raise typer.Exit(2)
        context = AccessContext(
            organization.id, Actor(id="cli", role=Role.SYSTEM), "cli: report cms-0057-f"
        )
        report = analytics.cms_report(uow, context, year, precert.clock, payer_id=payer)
    sys.stdout.write(cms0057f.render(report, form))
