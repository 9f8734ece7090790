"""The ``precert`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from precert.cli import core, policy, report, screen, users, worker, x12
from precert.cli.sandbox import sandbox_app

app = typer.Typer(
    name="precert",
    help="precert: prior authorization from discovery to determination.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(core.serve)
app.command()(core.run)
app.command()(worker.worker)
app.add_typer(core.db_app, name="db")
app.add_typer(core.demo_app, name="demo")
app.add_typer(core.apikey_app, name="apikey")
app.add_typer(core.audit_app, name="audit")
app.add_typer(users.app, name="user")
app.add_typer(x12.app, name="x12")
app.add_typer(policy.app, name="policy")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(report.app, name="report")
app.command(name="screen")(screen.screen)


def main() -> None:
    """Console-script entry point."""
    app()
