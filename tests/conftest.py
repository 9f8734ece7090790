"""Shared test configuration: the published fixtures, and databases on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from precert.adapters.db.engine import make_engine
from precert.adapters.db.migrate import upgrade

# CI is the gate for landing work, so there the property tests replay a fixed set of
# examples; everywhere else each run explores new ones (that is how the NUL-in-JSON bug
# on PostgreSQL was found), and a failure prints the example to add as a regression test.
# Timing is not what these tests check: a loaded CI machine must not fail them on a deadline.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """With PRECERT_EXPECT_COMPILED=1 (``make test-compiled``) the codec must be mypyc's build."""
    if os.environ.get("PRECERT_EXPECT_COMPILED") == "1":
        from precert.interop.x12 import parser

        if not parser.__file__ or not parser.__file__.endswith(".so"):
            raise pytest.UsageError(
                f"PRECERT_EXPECT_COMPILED=1 but the codec is pure Python ({parser.__file__})"
            )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The native reader's tests run where it is built (``make test-compiled``) only."""
    if collection_path.name != "test_native.py":
        return None
    from precert.interop.x12.parser import NATIVE_READER

    return NATIVE_READER is None and os.environ.get("PRECERT_EXPECT_COMPILED") != "1"


SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def x12_fixtures() -> Path:
    """The published X12 corpus (read-only, see its SOURCES.md)."""
    return SHARED_FIXTURES / "x12"


@pytest.fixture(scope="session")
def fhir_fixtures() -> Path:
    """The published FHIR corpus (read-only, see its SOURCES.md)."""
    return SHARED_FIXTURES / "fhir"


# --- databases: every storage test runs on SQLite and on PostgreSQL -------------------------


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "PRECERT_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


def worker_id() -> str:
    """The pytest-xdist worker id (``gw0``...), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def require_service(name: str, reason: str) -> None:
    """Skip when a service is missing on a developer machine; fail in CI, where it is mandatory."""
    message = f"{name} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (mandatory with CI=true)")
    pytest.skip(message)


def postgres_schema_url(schema: str) -> str:
    """The test database URL with ``search_path`` set to a schema of our own."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def fresh_postgres_schema(schema: str) -> str:
    """Drop and recreate ``schema`` in the test database; returns the URL that uses it."""
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any connection failure means the service is not there
        require_service("PostgreSQL", f"{POSTGRES_URL}: {exc.__class__.__name__}: {exc}")
    finally:
        admin.dispose()
    return postgres_schema_url(schema)


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend and worker; tests isolate themselves by organization."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'precert.db'}"
    else:
        url = fresh_postgres_schema(f"precert_{worker_id()}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of its own, for tests that change history or schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'precert.db'}"
    else:
        url = fresh_postgres_schema(f"precert_{worker_id()}_fresh")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """One engine per backend for the session."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def unique_slug() -> str:
    """An organization slug no other test uses."""
    return f"org-{uuid.uuid4().hex[:10]}"


T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
