"""An API client per backend, with an organization, keys for every role and a known payer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from precert.bootstrap import Precert
from precert.clock import FrozenClock
from precert.config import Settings
from precert.domain.access import ISSUABLE_ROLES
from precert.domain.authorization import LineOfBusiness, Role
from precert.domain.tenancy import Payer
from precert.services.tenancy import ensure_organization, issue_api_key
from precert.web.app import create_app
from tests.conftest import T0

NORTHWIND = Payer(
    id="northwind-health",
    name="Northwind Health Plan",
    phone="555-0100",
    x12_payer_id="NWHP1",
    lines_of_business=(LineOfBusiness.COMMERCIAL,),
)


#: Moving to ready past blockers (no eligibility check, no documents) needs a manager's reason.
READY_OVERRIDE = {"override_reason": "documentation faxed to the payer (test fixture)"}


@dataclass
class Tenant:
    """An organization with one API key per role."""

    slug: str
    organization_id: str
    keys: dict[Role, str]

    def auth(self, role: Role = Role.COORDINATOR) -> dict[str, str]:
        """Authorization header for the role's key."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def precert(engine: Engine, database_url: str) -> Precert:
    """The wired application on this backend, with a frozen clock."""
    return Precert(
        settings=Settings(database_url=database_url), engine=engine, clock=FrozenClock(T0)
    )


def make_tenant(precert: Precert, slug: str) -> Tenant:
    """Create an organization and a key for each issuable role."""
    with precert.uow() as uow:
        organization = ensure_organization(uow, slug, f"Org {slug}")
        uow.directory.upsert_payer(NORTHWIND)
        uow.commit()
        keys = {
            role: issue_api_key(
                uow, organization_slug=slug, role=role, name="test", clock=precert.clock
            )
            for role in ISSUABLE_ROLES
        }
    return Tenant(slug, organization.id, keys)


@pytest.fixture
def tenant(precert: Precert, unique_slug: str) -> Tenant:
    """A fresh organization for this test."""
    return make_tenant(precert, unique_slug)


@pytest.fixture
def client(precert: Precert) -> Iterator[TestClient]:
    """An HTTP client for the app on this backend."""
    with TestClient(create_app(precert)) as test_client:
        yield test_client
