"""The review queue: whatever the rules cannot decide goes to a person, with a coded reason.

Pure: no I/O. The seed's "exception handling flagging complex cases requiring
human intervention". Nothing is dropped silently: every component that meets a
case it cannot decide builds a ``ReviewException`` and routes it; routing the
same exception again (same key) counts another occurrence on the open item
instead of piling up duplicates, and a resolved item stays resolved only until
the same problem is routed again.

The detectors here take plain facts, so any caller (policy screening,
eligibility check, payer gateway, background job) can use them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from precert.domain.authorization import AuthorizationRequest
from precert.domain.errors import DomainError

#: X12 AAA03 reject reason codes are two characters (e.g. 15, 41, 42, 72, 75).
AAA_CODE = re.compile(r"^[0-9A-Z]{2}$")


class ReviewReason(StrEnum):
    """Why a case needs a person."""

    CONFLICTING_RULES = "conflicting_rules"
    UNKNOWN_CODE = "unknown_code"
    ELIGIBILITY_MISMATCH = "eligibility_mismatch"
    PAYER_REJECTION = "payer_rejection"
    MANUAL_REVIEW_RULE = "manual_review_rule"
    NOTIFICATION_OVERDUE = "notification_overdue"
    PAYER_UNREACHABLE = "payer_unreachable"


class ReviewStatus(StrEnum):
    """Waiting for a person, or dealt with."""

    OPEN = "open"
    RESOLVED = "resolved"


class ReviewError(DomainError):
    """A review exception or action that breaks the queue's rules."""


@dataclass(frozen=True)
class ReviewException:
    """A case a component could not decide: the reason, what it is about, and why.

    ``key`` identifies the problem so routing it twice does not duplicate it;
    by default it is the reason, the request and the codes.
    """

    reason: ReviewReason
    summary: str
    authorization_id: str | None = None
    codes: tuple[str, ...] = ()
    detail: Mapping[str, str] = field(default_factory=dict)
    key: str = ""

    def __post_init__(self) -> None:
        if not self.summary.strip():
            raise ReviewError("a review exception needs a summary a person can act on")
        if self.reason is ReviewReason.PAYER_REJECTION:
            if not self.codes:
                raise ReviewError("a payer rejection needs its AAA reject reason code(s)")
            bad = [c for c in self.codes if not AAA_CODE.match(c)]
            if bad:
                raise ReviewError(f"not X12 AAA reject reason codes: {bad}")
        if not self.key:
            parts = [self.reason.value, self.authorization_id or "-", *sorted(self.codes)]
            object.__setattr__(self, "key", ":".join(parts))


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review queue."""

    id: str
    organization_id: str
    reason: ReviewReason
    summary: str
    key: str
    authorization_id: str | None
    codes: tuple[str, ...]
    detail: Mapping[str, str]
    status: ReviewStatus
    created_at: datetime
    updated_at: datetime
    occurrences: int = 1
    assignee: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None

    @classmethod
    def route(cls, exception: ReviewException, organization_id: str, now: datetime) -> ReviewItem:
        """A new open item for ``exception``."""
        return cls(
            id=str(uuid.uuid4()),
            organization_id=organization_id,
            reason=exception.reason,
            summary=exception.summary,
            key=exception.key,
            authorization_id=exception.authorization_id,
            codes=exception.codes,
            detail=dict(exception.detail),
            status=ReviewStatus.OPEN,
            created_at=now,
            updated_at=now,
        )

    def seen_again(self, exception: ReviewException, now: datetime) -> ReviewItem:
        """The same problem was routed again: count it, reopen if resolved, keep the latest text."""
        return replace(
            self,
            summary=exception.summary,
            detail=dict(exception.detail),
            occurrences=self.occurrences + 1,
            status=ReviewStatus.OPEN,
            resolved_at=None,
            resolved_by=None,
            resolution=None,
            updated_at=now,
        )

    def resolve(self, by: str, resolution: str, now: datetime) -> ReviewItem:
        """A person dealt with it and says how."""
        if self.status is ReviewStatus.RESOLVED:
            raise ReviewError(f"review item {self.id} is already resolved")
        if not resolution.strip():
            raise ReviewError("say how the case was resolved")
        return replace(
            self,
            status=ReviewStatus.RESOLVED,
            resolved_at=now,
            resolved_by=by,
            resolution=resolution,
            updated_at=now,
        )


# --- detectors -------------------------------------------------------------------------


def payer_rejection(
    authorization_id: str, aaa_codes: Sequence[str], message: str | None = None
) -> ReviewException:
    """The payer rejected the submission itself with X12 AAA reject reason codes."""
    codes = tuple(c.strip().upper() for c in aaa_codes)
    return ReviewException(
        reason=ReviewReason.PAYER_REJECTION,
        summary=f"Payer rejected the request (AAA {', '.join(codes)})"
        + (f": {message}" if message else ""),
        authorization_id=authorization_id,
        codes=codes,
        detail={"message": message} if message else {},
    )


def conflicting_rules(
    authorization_id: str | None, line: int, answers: Mapping[str, str]
) -> ReviewException | None:
    """Equally ranked policy rules disagree on a line (rule id -> its answer): a person decides.

    None when they agree (or fewer than two rules answered).
    """
    if len(set(answers.values())) < 2:
        return None
    listed = ", ".join(f"{rule} says {answer}" for rule, answer in sorted(answers.items()))
    return ReviewException(
        reason=ReviewReason.CONFLICTING_RULES,
        summary=f"Service line {line}: equally ranked policy rules disagree ({listed})",
        authorization_id=authorization_id,
        codes=tuple(sorted(answers)),
        detail={"line": str(line)},
    )


def unknown_codes(
    authorization_id: str | None, codes_by_line: Mapping[int, str]
) -> ReviewException | None:
    """Procedure codes no policy pack knows (line index -> code); None when there are none."""
    if not codes_by_line:
        return None
    listed = ", ".join(f"line {i}: {code}" for i, code in sorted(codes_by_line.items()))
    return ReviewException(
        reason=ReviewReason.UNKNOWN_CODE,
        summary=f"No policy knows these codes, so whether they need approval is unknown ({listed})",
        authorization_id=authorization_id,
        codes=tuple(sorted(set(codes_by_line.values()))),
    )


def manual_review(
    authorization_id: str | None, line: int, rule_id: str, note: str | None = None
) -> ReviewException:
    """A policy rule leaves the answer to a person (CRD ``conditional`` with nothing to test)."""
    return ReviewException(
        reason=ReviewReason.MANUAL_REVIEW_RULE,
        summary=f"Service line {line}: rule {rule_id} needs a person's judgement"
        + (f" ({note})" if note else ""),
        authorization_id=authorization_id,
        codes=(rule_id,),
        detail={"line": str(line)},
    )


@dataclass(frozen=True)
class EligibilityAnswer:
    """What the payer's eligibility response (271, CoverageEligibilityResponse) said."""

    active: bool | None
    plan_start: date | None = None
    plan_end: date | None = None
    member_id: str | None = None


def eligibility_mismatch(
    request: AuthorizationRequest, answer: EligibilityAnswer
) -> ReviewException | None:
    """Where the payer's eligibility answer disagrees with the request; None when it agrees."""
    problems: list[str] = []
    if answer.active is False:
        problems.append("the payer says the coverage is not active")
    start, end = request.first_service_date, request.last_service_date
    if answer.plan_start is not None and start < answer.plan_start:
        problems.append(f"service starts {start} before the plan does ({answer.plan_start})")
    if answer.plan_end is not None and end > answer.plan_end:
        problems.append(f"service ends {end} after the plan does ({answer.plan_end})")
    if answer.member_id is not None and answer.member_id != request.coverage.member_id:
        problems.append("the payer knows the member under a different member id")
    if not request.coverage.is_active_on(start):
        problems.append(f"the coverage on file is not in force on {start}")
    if not problems:
        return None
    return ReviewException(
        reason=ReviewReason.ELIGIBILITY_MISMATCH,
        summary="Eligibility does not match the request: " + "; ".join(problems),
        authorization_id=request.id,
    )


def notification_overdue(
    authorization_id: str, expected_by: datetime, inquiry: str
) -> ReviewException:
    """No decision notification arrived in time and no automatic inquiry could be made."""
    return ReviewException(
        reason=ReviewReason.NOTIFICATION_OVERDUE,
        summary=f"No decision notification from the payer since {expected_by.isoformat()}; "
        f"{inquiry}",
        authorization_id=authorization_id,
        detail={"expected_by": expected_by.isoformat()},
    )


def payer_unreachable(authorization_id: str | None, attempts: int, error: str) -> ReviewException:
    """A payer call failed every retry."""
    return ReviewException(
        reason=ReviewReason.PAYER_UNREACHABLE,
        summary=f"The payer could not be reached after {attempts} attempt(s): {error}",
        authorization_id=authorization_id,
        detail={"attempts": str(attempts), "error": error},
    )
