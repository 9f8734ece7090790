"""Alembic environment: uses the connection handed in by ``migrate.upgrade`` when present."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from precert.adapters.db.tables import metadata

config = context.config


def run() -> None:
    """Run migrations online, on the caller's connection or a fresh one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as fresh:
        context.configure(
            connection=fresh,
            target_metadata=metadata,
            render_as_batch=fresh.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run()
