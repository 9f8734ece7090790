"""``precert user``: create web UI users; and the demo sign-ins ``precert run`` prints."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console

from precert.adapters.db.users import DuplicateEmail
from precert.bootstrap import Precert, bootstrap
from precert.domain.access import ISSUABLE_ROLES, NOT_ISSUABLE
from precert.domain.authorization import Role
from precert.domain.errors import InvalidInput, NotFound
from precert.services.users import create_user, provision_demo_users

err = Console(stderr=True)
app = typer.Typer(help="Web UI users.", no_args_is_help=True)


@app.command("create")
def user_create(
    org: Annotated[str, typer.Option("--org", help="Organization slug")],
    email: Annotated[str, typer.Option("--email", help="Sign-in email, unique in the org")],
    role: Annotated[
        Role,
        typer.Option("--role", help="coordinator, clinician, manager, auditor, admin, integration"),
    ],
    name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="At least 12 characters; omitted: one is generated and printed once",
        ),
    ] = None,
) -> None:
    """Create a user who signs in to the web UI; prints a generated password on stdout."""
    precert = bootstrap()
    chosen = password or secrets.token_urlsafe(15)
    if role not in ISSUABLE_ROLES:
        err.print(f"[red]error:[/red] {NOT_ISSUABLE}")
        raise typer.Exit(2)
    try:
        with precert.uow() as uow:
            user = create_user(
                uow,
                organization_slug=org,
                email=email,
                name=name or email.split("@")[0],
                role=role,
                password=chosen,
                clock=precert.clock,
            )
    except (NotFound, InvalidInput, DuplicateEmail) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    err.print(f"created {user.role.value} {user.email} ({user.name}) in organization '{org}'")
    if password is None:
        sys.stdout.write(chosen + "\n")


def demo_sign_ins(precert: Precert, organization_slug: str) -> str:
    """Create or refresh the demo organization's users; the console lines saying how to sign in."""
    with precert.uow() as uow:
        return provision_demo_users(uow, organization_slug, precert.clock)
