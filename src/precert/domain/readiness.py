"""Is a request ready to submit? Blockers, each with a code and a sentence to act on.

Before submission: coverage verified and active on the date of service, every
required document complete, the payer's lead time still respected, and no code
that CMS retired before the date of service. A manager
may submit despite blockers, with a reason, and that override is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from precert.domain.authorization import AuthorizationRequest
from precert.domain.documentation import Checklist


class BlockerCode(StrEnum):
    """Why a request is not ready."""

    ELIGIBILITY_NOT_VERIFIED = "eligibility_not_verified"
    COVERAGE_INACTIVE = "coverage_inactive"
    DOCUMENTATION_INCOMPLETE = "documentation_incomplete"
    LEAD_TIME_MISSED = "lead_time_missed"
    CODE_TERMINATED = "code_terminated"


@dataclass(frozen=True)
class Blocker:
    """One reason the request cannot go yet."""

    code: BlockerCode
    message: str


def readiness_blockers(
    request: AuthorizationRequest,
    *,
    today: date,
    eligibility: Mapping[str, Any] | None,
    checklist: Checklist,
    submit_by: Sequence[date | None],
    terminated_codes: Sequence[str] = (),
) -> tuple[Blocker, ...]:
    """Everything standing between the request and submission (empty when ready).

    ``eligibility`` is the payload of the latest eligibility check, or None if never checked.
    ``terminated_codes`` says, per line whose code was retired before its date of service,
    which code and since when (a payer rejects such a line as invalid).
    """
    blockers: list[Blocker] = []
    service_day = request.first_service_date
    if eligibility is None:
        blockers.append(
            Blocker(
                BlockerCode.ELIGIBILITY_NOT_VERIFIED,
                "coverage has not been verified with the payer",
            )
        )
    elif not eligibility.get("active"):
        blockers.append(
            Blocker(BlockerCode.COVERAGE_INACTIVE, "the payer reports the coverage inactive")
        )
    else:
        start = eligibility.get("plan_start")
        end = eligibility.get("plan_end")
        if (start and date.fromisoformat(start) > service_day) or (
            end and date.fromisoformat(end) < service_day
        ):
            blockers.append(
                Blocker(
                    BlockerCode.COVERAGE_INACTIVE,
                    f"the plan ({start or '…'} to {end or '…'}) does not cover {service_day}",
                )
            )
    if checklist.missing:
        shown = "; ".join(checklist.missing[:5])
        more = f" and {len(checklist.missing) - 5} more" if len(checklist.missing) > 5 else ""
        blockers.append(
            Blocker(
                BlockerCode.DOCUMENTATION_INCOMPLETE,
                f"documentation incomplete ({checklist.score:.0%}): {shown}{more}",
            )
        )
    missed = sorted(d for d in submit_by if d is not None and d < today)
    if missed:
        blockers.append(
            Blocker(
                BlockerCode.LEAD_TIME_MISSED,
                f"the payer's lead time ran out on {missed[0]}: call the payer before submitting "
                "late, or reschedule the service",
            )
        )
    blockers.extend(
        Blocker(BlockerCode.CODE_TERMINATED, f"{retired}: code the service with a current code")
        for retired in terminated_codes
    )
    return tuple(blockers)
