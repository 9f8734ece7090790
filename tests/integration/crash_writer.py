"""A process that writes requests as fast as it can, announcing each commit on stdout.

Run by test_crash.py, which kills it with SIGKILL mid-write.
"""

from __future__ import annotations

import sys

from precert.adapters.db.engine import make_engine
from precert.bootstrap import Precert
from precert.clock import SystemClock
from precert.config import Settings
from precert.domain.authorization import Actor, Role
from precert.services.access import AccessContext
from precert.services.authorizations import (
    MarkReady,
    NewAuthorization,
    RecordSubmission,
    act_on_authorization,
    open_authorization,
)
from precert.services.tenancy import ensure_organization
from tests.factories import request_body
from tests.integration.conftest import NORTHWIND


def main(url: str, slug: str) -> None:
    """Create, ready and submit requests forever; print each id once its write committed."""
    precert = Precert(Settings(database_url=url), make_engine(url), SystemClock())
    with precert.uow() as uow:
        organization = ensure_organization(uow, slug, slug)
        uow.directory.upsert_payer(NORTHWIND)
        uow.commit()
    context = AccessContext(organization.id, Actor(id="crash", role=Role.SYSTEM), "test")
    command = NewAuthorization.model_validate(request_body())
    n = 0
    while True:
        n += 1
        with precert.uow() as uow:
            opened = open_authorization(
                uow, context, command, precert.clock, idempotency_key=f"k{n}"
            )
        print("committed", opened.request.id, "draft", flush=True)
        for action, status in (
            (MarkReady(), "ready"),
            (RecordSubmission(channel="portal"), "submitted"),
        ):
            with precert.uow() as uow:
                act_on_authorization(uow, context, opened.request.id, action, precert.clock)
            print("committed", opened.request.id, status, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
