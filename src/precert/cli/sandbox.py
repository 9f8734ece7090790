"""``precert sandbox``: run the simulated payer, list its scenarios."""

from __future__ import annotations

from typing import Annotated

import typer

from precert.config import Settings
from precert.sandbox.app import SandboxConfig
from precert.sandbox.scenarios import SCENARIOS
from precert.sandbox.server import serve as serve_sandbox

sandbox_app = typer.Typer(help="The sandbox payer: a simulated payer for tests and training.")


@sandbox_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int | None, typer.Option(help="Port (PRECERT_SANDBOX_PORT, 8001)")] = None,
    scenario: Annotated[
        str, typer.Option(help="Default scenario, e.g. pend-then-deny-missing-docs")
    ] = "policy",
    database_url: Annotated[
        str | None, typer.Option(help="The sandbox's own store (var/sandbox.db)")
    ] = None,
) -> None:
    """Serve the sandbox payer: FHIR base /fhir (Claim/$submit, $inquire, Subscription)."""
    if scenario not in SCENARIOS:
        raise typer.BadParameter(
            f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}",
            param_hint="--scenario",
        )
    settings = Settings()
    config = SandboxConfig(
        database_url=database_url or settings.sandbox_database_url, scenario=scenario
    )
    serve_sandbox(config, host=host, port=port or settings.sandbox_port)


@sandbox_app.command("scenarios")
def scenarios() -> None:
    """List the scenarios and how to select them."""
    for scenario in SCENARIOS.values():
        typer.echo(f"{scenario.name:32} {scenario.description}")
    typer.echo("\nSelect per request with header X-Sandbox-Scenario: NAME or member id SBX-NAME-….")
