"""Migrations on both backends: reversible, and derived analytics rebuilt from the ledger."""

from __future__ import annotations

from alembic import command
from sqlalchemy import func, inspect, select

from precert.adapters.db import tables
from precert.adapters.db.engine import make_engine
from precert.adapters.db.migrate import alembic_config, upgrade
from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.config import Settings
from precert.demo import generate_demo
from precert.domain.authorization import Actor, Role
from precert.services.access import AccessContext
from precert.services.demo_data import load_demo
from precert.services.tenancy import ensure_organization
from tests.conftest import T0


def test_downgrade_to_base_and_back(fresh_database_url: str) -> None:
    """Every migration's downgrade runs, and upgrading again recreates the same tables."""
    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            before = set(inspect(connection).get_table_names())
        with engine.begin() as connection:
            config = alembic_config(fresh_database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == before
    finally:
        engine.dispose()


def test_upgrade_rebuilds_missing_analytics(fresh_database_url: str) -> None:
    """Facts missing for stored requests (new tables, or wiped) are rebuilt by upgrade."""
    engine = make_engine(fresh_database_url)
    precert = Precert(Settings(database_url=fresh_database_url), engine, FrozenClock(T0))
    try:
        with precert.uow() as uow:
            organization = ensure_organization(uow, "demo", "Demo")
            dataset = generate_demo(seed=5, size=60, now=T0, organization_id=organization.id)
            context = AccessContext(organization.id, Actor(id="t", role=Role.SYSTEM), "test")
            load_demo(uow, context, dataset)
        count = select(func.count()).select_from(tables.analytics_facts)
        with engine.begin() as connection:
            written = connection.execute(count).scalar_one()
            for table in (
                tables.analytics_facts,
                tables.analytics_counts,
                tables.analytics_observations,
            ):
                connection.execute(table.delete())
        assert written == 60
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(count).scalar_one() == 60
            assert (
                connection.execute(
                    select(func.count()).select_from(tables.analytics_counts)
                ).scalar_one()
                > 0
            )
    finally:
        engine.dispose()
