"""A job kind for the SIGKILL test: submit a request to an HTTP payer under the job's key.

Loaded into a real ``precert worker`` with ``--handlers``; holds no tests itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from precert.adapters.queue.jobs import WORKER, JobContext, handler
from precert.domain.authorization import Status

KIND = "test-submit"


@handler(KIND)
def submit(context: JobContext) -> Mapping[str, Any]:
    """Send the request to the payer, then record the submission on the aggregate."""
    job = context.job
    assert job.authorization_id is not None
    with context.precert.uow() as uow:
        request = uow.authorizations.get(job.organization_id, job.authorization_id)
        if request.status is not Status.READY:
            return {"skipped": request.status.value}
        answer = httpx.post(
            str(job.payload["payer_url"]),
            json={"authorization": request.id},
            headers={"Idempotency-Key": context.idempotency_key},
            timeout=60,
        )
        answer.raise_for_status()
        request.submit(
            WORKER,
            context.precert.clock.now(),
            channel="sandbox",
            attempt_key=context.idempotency_key,
        )
        uow.authorizations.save(request)
        uow.commit()
    return {"payer_reference": answer.json()["reference"]}
