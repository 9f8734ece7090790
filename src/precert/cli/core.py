"""Core commands: serve, run, database, demo data, API keys, audit verification."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from precert.adapters.db import tables
from precert.adapters.db.migrate import upgrade
from precert.adapters.db.repository import SqlLedger
from precert.adapters.payers.store import SqlPayerUnitOfWork
from precert.bootstrap import Precert, bootstrap
from precert.cli.users import demo_sign_ins
from precert.config import Settings
from precert.domain.authorization import Actor, Role
from precert.domain.errors import NotFound
from precert.sandbox.server import serve_in_background
from precert.services.access import AccessContext
from precert.services.demo_data import connect_payers_to_sandbox
from precert.services.ledger import verify_ledger
from precert.services.tenancy import ensure_organization, issue_api_key

err = Console(stderr=True)
DEMO_SLUG = "demo"
DEMO_NAME = "Demo Imaging & Surgery Center"

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Synthetic demo data.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail and event ledger.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to PRECERT_DATABASE_URL (default: var/precert.db)."""
    precert = bootstrap(migrate=False)
    upgrade(precert.engine)
    err.print(f"schema up to date on {precert.engine.url.render_as_string(hide_password=True)}")


def _load_demo(precert: Precert, size: int, seed: int) -> None:
    from precert.demo import generate_demo  # Faker is only needed here
    from precert.services.demo_data import load_demo

    with precert.uow() as uow:
        organization = ensure_organization(uow, DEMO_SLUG, DEMO_NAME)
        dataset = generate_demo(
            seed=seed, size=size, now=precert.clock.now(), organization_id=organization.id
        )
        context = AccessContext(
            organization.id, Actor(id="cli", role=Role.SYSTEM), "cli: demo load"
        )
        with _progress() as progress:
            task = progress.add_task("loading demo requests", total=len(dataset.requests))
            report = load_demo(
                uow, context, dataset, lambda done: progress.update(task, completed=done)
            )
    err.print(
        f"loaded {report.requests} requests ({report.events} events) and "
        f"{report.payers} payers into organization '{DEMO_SLUG}'"
    )


@demo_app.command("load")
def demo_load(
    size: Annotated[int, typer.Option(min=1, help="Number of authorization requests")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same data")] = 7,
) -> None:
    """Load the synthetic demo data set into the 'demo' organization."""
    _load_demo(bootstrap(), size, seed)


@apikey_app.command("create")
def apikey_create(
    org: Annotated[str, typer.Option("--org", help="Organization slug")],
    role: Annotated[
        Role,
        typer.Option("--role", help="coordinator, clinician, manager, auditor, admin, integration"),
    ],
    name: Annotated[str, typer.Option("--name", help="What the key is for")] = "cli",
) -> None:
    """Create an API key and print it, and only it, on standard output."""
    precert = bootstrap()
    try:
        with precert.uow() as uow:
            token = issue_api_key(
                uow, organization_slug=org, role=role, name=name, clock=precert.clock
            )
    except (NotFound, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every event hash; exit 1 naming the first broken link."""
    precert = bootstrap()
    with precert.engine.connect() as connection:
        total = connection.execute(
            select(func.count()).select_from(tables.authorizations)
        ).scalar_one()
        with _progress() as progress:
            task = progress.add_task("verifying event chains", total=total)
            report = verify_ledger(
                SqlLedger(connection).chains(),
                lambda done: progress.update(task, completed=done),
            )
    if report.broken is not None:
        b = report.broken
        err.print(
            f"[red]BROKEN[/red] authorization {b.authorization_id}, event sequence {b.sequence}"
            f" (row id {b.row_id}): {b.reason}"
        )
        raise typer.Exit(1)
    err.print(f"[green]OK[/green] {report.events} events in {report.authorizations} chains verify")


def serve_app(precert: Precert) -> None:
    """Serve the API (and UI) with uvicorn until interrupted."""
    import uvicorn

    from precert.web.app import create_app

    uvicorn.run(
        create_app(precert),
        host=precert.settings.host,
        port=precert.settings.port,
        log_level="info",
    )


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default PRECERT_HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PRECERT_PORT or 8000)")] = None,
) -> None:
    """Serve the API on the given interface."""
    settings = Settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    serve_app(bootstrap(settings))


def run(
    demo_size: Annotated[
        int, typer.Option(help="Demo requests to load into an empty database")
    ] = 5000,
) -> None:
    """Everything `make run` does: migrate, load demo data if empty, print a key, serve."""
    precert = bootstrap()
    with precert.engine.connect() as connection:
        empty = (
            connection.execute(select(func.count()).select_from(tables.authorizations)).scalar_one()
            == 0
        )
    if empty:
        _load_demo(precert, demo_size, seed=7)
    settings = precert.settings
    sandbox_base = f"http://{settings.host}:{settings.sandbox_port}/fhir"
    with SqlPayerUnitOfWork(precert.engine) as uow:
        organization = ensure_organization(uow, DEMO_SLUG, DEMO_NAME)
        connect_payers_to_sandbox(uow, organization.id, sandbox_base, precert.clock)
        token = issue_api_key(
            uow,
            organization_slug=DEMO_SLUG,
            role=Role.COORDINATOR,
            name=f"make run {datetime.now(UTC):%Y-%m-%d %H:%M}",
            clock=precert.clock,
        )
    base = f"http://{precert.settings.host}:{precert.settings.port}"
    err.print(
        f"\n[bold]precert[/bold] on {base}\n"
        f"  API docs:   {base}/docs\n"
        f"  demo key:   {token}   (role coordinator, organization '{DEMO_SLUG}')\n"
        f"  sandbox:    {sandbox_base}   (the simulated payer every demo payer points at)\n"
        f"  try:        curl -H 'Authorization: Bearer {token}' {base}/v1/authorizations\n",
        soft_wrap=True,
    )
    err.print(demo_sign_ins(precert, DEMO_SLUG), soft_wrap=True)
    sandbox = serve_in_background(settings)
    try:
        serve_app(precert)
    finally:
        sandbox.stop()
