"""Load the synthetic demo data set into an organization (``precert demo load``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from precert.demo import DemoDataSet
from precert.domain.tenancy import Payer
from precert.ports import (
    Clock,
    PayerAuth,
    PayerConnection,
    PayerFormat,
    PayerUnitOfWork,
    UnitOfWork,
)
from precert.services.access import AccessContext, audit

BATCH = 250


@dataclass(frozen=True)
class DemoLoadReport:
    """What was loaded."""

    payers: int
    requests: int
    events: int


def load_demo(
    uow: UnitOfWork,
    context: AccessContext,
    dataset: DemoDataSet,
    on_progress: Callable[[int], None] | None = None,
) -> DemoLoadReport:
    """Store the payers and every request with its recorded history, in committed batches."""
    for payer in dataset.payers:
        uow.directory.upsert_payer(
            Payer(
                id=payer.id,
                name=payer.name,
                phone=payer.phone,
                x12_payer_id=payer.x12_payer_id,
                lines_of_business=tuple(payer.lines_of_business),
            )
        )
    uow.commit()
    events = 0
    for done, (request, history) in enumerate(dataset.requests, start=1):
        uow.authorizations.import_request(request, history)
        events += len(history)
        audit(
            uow,
            context,
            request.created_at,
            "write",
            "authorization",
            [request.id],
            event="demo-load",
        )
        if done % BATCH == 0:
            uow.commit()
            if on_progress:
                on_progress(done)
    uow.commit()
    if on_progress:
        on_progress(len(dataset.requests))
    return DemoLoadReport(len(dataset.payers), len(dataset.requests), events)


def connect_payers_to_sandbox(
    uow: PayerUnitOfWork, organization_id: str, sandbox_fhir_base: str, clock: Clock
) -> int:
    """Point every payer the organization has no connection for at the sandbox payer (FHIR
    PAS), so the demo submits for real; returns how many connections were added."""
    now = clock.now()
    added = 0
    for payer in uow.directory.payers():
        if uow.payers.connection(organization_id, payer.id) is not None:
            continue
        uow.payers.save_connection(
            PayerConnection(
                id=str(uuid.uuid4()),
                organization_id=organization_id,
                payer_id=payer.id,
                format=PayerFormat.FHIR_PAS,
                endpoint=sandbox_fhir_base,
                auth=PayerAuth(),
                organization_identifier=f"demo-{payer.x12_payer_id}",
                timeout_seconds=10.0,
                max_attempts=4,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    uow.commit()
    return added
