"""Run Alembic migrations programmatically (``precert db upgrade``); no alembic.ini needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, func, select

from precert.adapters.db.tables import analytics_facts, authorizations
from precert.analytics.queries import rebuild_facts

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``, then rebuild derived analytics if they lag.

    Migrations only shape tables. The analytics facts are derived from the event ledger
    by the code of this release, so they are refilled here, after the schema is final,
    rather than inside a migration that would run later releases' code against an
    earlier schema.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if revision == "head" and _analytics_lag(connection):
            rebuild_facts(connection)


def _analytics_lag(connection: Connection) -> bool:
    """Whether some request has no analytics facts (new tables, or facts wiped)."""
    requests = connection.execute(select(func.count()).select_from(authorizations)).scalar_one()
    facts = connection.execute(select(func.count()).select_from(analytics_facts)).scalar_one()
    return bool(facts < requests)
