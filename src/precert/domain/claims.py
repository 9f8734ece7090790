"""The billing gate: is a claim line covered by a valid authorization?

A line is covered when an approved (or modified) authorization line of the same
patient and payer has the same code (or the code the payer substituted), its
validity window contains the date of service, and enough approved units remain.
Anything else is refused with the reason a biller can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from precert.domain.authorization import AuthorizationRequest, Decision, ServiceLine
from precert.domain.codes import CodeSystem


class ClaimVerdict(StrEnum):
    """The answer for one claim line."""

    COVERED = "covered"
    NO_AUTHORIZATION = "no_authorization"
    PENDING = "authorization_pending"
    DENIED = "authorization_denied"
    OUTSIDE_VALIDITY = "outside_validity"
    UNITS_EXHAUSTED = "units_exhausted"


@dataclass(frozen=True)
class ClaimLine:
    """One line of a claim as billing sends it."""

    code_system: CodeSystem
    code: str
    service_date: date
    units: Decimal


@dataclass(frozen=True)
class ClaimLineCheck:
    """The verdict, why, and which authorization line it rests on."""

    verdict: ClaimVerdict
    reason: str
    authorization_id: str | None = None
    line_index: int | None = None
    certification_number: str | None = None
    units_remaining: Decimal | None = None

    @property
    def covered(self) -> bool:
        """Whether the claim line may go out."""
        return self.verdict is ClaimVerdict.COVERED


def validity_window(line: ServiceLine) -> tuple[date, date]:
    """The dates an approval covers: the payer's validity dates, else the dates requested."""
    determination = line.determination
    start = (determination.valid_from if determination else None) or line.service_start
    end = (determination.valid_to if determination else None) or line.service_end
    return start, end


def _same_service(line: ServiceLine, claim: ClaimLine) -> bool:
    substituted = line.determination.authorized_code if line.determination else None
    return line.code_system is claim.code_system and claim.code in (line.code, substituted)


# Most useful refusal first when several authorization lines match the code.
_REFUSAL_ORDER = (
    ClaimVerdict.UNITS_EXHAUSTED,
    ClaimVerdict.OUTSIDE_VALIDITY,
    ClaimVerdict.PENDING,
    ClaimVerdict.DENIED,
)


def check_claim_line(
    candidates: Sequence[AuthorizationRequest], claim: ClaimLine
) -> ClaimLineCheck:
    """Find the authorization line that covers ``claim``, or say why none does."""
    refusals: dict[ClaimVerdict, ClaimLineCheck] = {}
    for request in candidates:
        for index, line in enumerate(request.service_lines):
            if not _same_service(line, claim):
                continue
            decision = line.determination.decision if line.determination else None
            if decision in (None, Decision.PENDED):
                refusals.setdefault(
                    ClaimVerdict.PENDING,
                    ClaimLineCheck(
                        ClaimVerdict.PENDING,
                        f"authorization {request.id} has no decision yet",
                        request.id,
                        index,
                    ),
                )
                continue
            if decision not in (Decision.APPROVED, Decision.MODIFIED):
                refusals.setdefault(
                    ClaimVerdict.DENIED,
                    ClaimLineCheck(
                        ClaimVerdict.DENIED,
                        f"authorization {request.id} was {decision.value} for {claim.code}",
                        request.id,
                        index,
                    ),
                )
                continue
            start, end = validity_window(line)
            certification = line.determination.certification_number if line.determination else None
            if not start <= claim.service_date <= end:
                refusals.setdefault(
                    ClaimVerdict.OUTSIDE_VALIDITY,
                    ClaimLineCheck(
                        ClaimVerdict.OUTSIDE_VALIDITY,
                        f"service date {claim.service_date} is outside the approval "
                        f"{start} to {end}",
                        request.id,
                        index,
                        certification,
                    ),
                )
                continue
            remaining = request.units_remaining(index)
            if claim.units > remaining:
                refusals.setdefault(
                    ClaimVerdict.UNITS_EXHAUSTED,
                    ClaimLineCheck(
                        ClaimVerdict.UNITS_EXHAUSTED,
                        f"{claim.units} unit(s) billed, {remaining} approved unit(s) remain",
                        request.id,
                        index,
                        certification,
                        remaining,
                    ),
                )
                continue
            return ClaimLineCheck(
                ClaimVerdict.COVERED,
                f"covered by authorization {certification or request.id}",
                request.id,
                index,
                certification,
                remaining,
            )
    for verdict in _REFUSAL_ORDER:
        if verdict in refusals:
            return refusals[verdict]
    return ClaimLineCheck(
        ClaimVerdict.NO_AUTHORIZATION,
        f"no authorization for {claim.code_system.value} {claim.code} for this patient and payer",
    )
