"""Wire settings, database, clock and unit of work together, once, for every entry point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from precert.adapters.db.engine import make_engine
from precert.adapters.db.migrate import upgrade
from precert.adapters.db.unit_of_work import SqlUnitOfWork
from precert.clock import SystemClock
from precert.config import Settings
from precert.policy import PolicyEngine, shipped_engine
from precert.ports import Clock


@dataclass
class Precert:
    """The wired application: what routers, CLI commands and jobs are given."""

    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def policy(self) -> PolicyEngine:
        """The compiled policy engine (loaded on first use: CLI commands that need no rules
        start fast)."""
        return shipped_engine()

    def uow(self) -> SqlUnitOfWork:
        """A fresh unit of work (use it as a context manager)."""
        return SqlUnitOfWork(self.engine)


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    engine_factory: Callable[[str], Engine] = make_engine,
) -> Precert:
    """Build the application; by default bring the schema up to date first."""
    settings = settings or Settings()
    engine = engine_factory(settings.database_url)
    if migrate:
        upgrade(engine)
    return Precert(settings=settings, engine=engine, clock=clock or SystemClock())
