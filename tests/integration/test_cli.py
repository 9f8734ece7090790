"""The core CLI on both backends: keys, demo data, and ledger verification catching tampering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from precert.adapters.db.engine import make_engine
from precert.cli import app
from precert.domain.tenancy import split_token

runner = CliRunner()


@pytest.fixture
def cli_env(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at an empty database of this backend."""
    monkeypatch.setenv("PRECERT_DATABASE_URL", fresh_database_url)
    return fresh_database_url


@pytest.fixture
def cli_engine(cli_env: str) -> Iterator[Engine]:
    """An engine on the CLI's database, for looking behind its back."""
    engine = make_engine(cli_env)
    yield engine
    engine.dispose()


def loaded_demo(size: int = 40) -> None:
    result = runner.invoke(app, ["demo", "load", "--size", str(size), "--seed", "3"])
    assert result.exit_code == 0, result.output


def test_apikey_create_prints_only_the_key(cli_env: str) -> None:
    """Standard output is the key alone, so scripts can capture it."""
    loaded_demo()
    result = runner.invoke(app, ["apikey", "create", "--org", "demo", "--role", "auditor"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert split_token(lines[0]) is not None


def test_apikey_for_unknown_org_fails(cli_env: str) -> None:
    """An unknown organization is an error on stderr and exit 2."""
    result = runner.invoke(app, ["apikey", "create", "--org", "nope-x", "--role", "admin"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no organization" in result.stderr


def _tamper(engine: Engine, statement: str) -> None:
    """Edit history the way only a DBA could: around the append-only trigger."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
            connection.execute(text(statement))
            connection.execute(text("ALTER TABLE events ENABLE TRIGGER events_append_only"))
        else:
            connection.execute(text("DROP TRIGGER events_no_update"))
            connection.execute(text(statement))
            connection.execute(
                text(
                    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
                    "BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END"
                )
            )


def test_events_are_append_only(cli_engine: Engine) -> None:
    """The database itself refuses UPDATE and DELETE on events."""
    loaded_demo()
    for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"), cli_engine.begin() as connection:
            connection.execute(text(statement))


def test_audit_verify_names_the_edited_event(cli_engine: Engine) -> None:
    """Editing one event row makes `precert audit verify` fail and name that event."""
    loaded_demo()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    with cli_engine.connect() as connection:
        victim = connection.execute(
            text(
                "SELECT id, authorization_id, sequence FROM events WHERE sequence = 2 "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
    _tamper(cli_engine, f"UPDATE events SET actor_id = 'someone-else' WHERE id = {victim.id}")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"authorization {victim.authorization_id}, event sequence 2" in result.stderr
    assert "edited" in result.stderr
