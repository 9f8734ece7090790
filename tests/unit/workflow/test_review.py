"""Review-queue exceptions: coded reasons, AAA codes, detectors, and routing the same case twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from precert.domain.review import (
    EligibilityAnswer,
    ReviewError,
    ReviewException,
    ReviewItem,
    ReviewReason,
    ReviewStatus,
    conflicting_rules,
    eligibility_mismatch,
    payer_rejection,
    unknown_codes,
)
from tests.factories import draft

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def test_payer_rejection_needs_valid_aaa_codes() -> None:
    """A payer rejection carries its AAA codes; none, or malformed ones, are refused."""
    exception = payer_rejection("auth-1", ["72", " 15 "], "invalid member id")
    assert exception.reason is ReviewReason.PAYER_REJECTION
    assert exception.codes == ("72", "15")
    assert exception.key == "payer_rejection:auth-1:15:72"
    with pytest.raises(ReviewError, match="AAA reject reason"):
        payer_rejection("auth-1", [])
    with pytest.raises(ReviewError, match="not X12 AAA"):
        payer_rejection("auth-1", ["7X2"])


def test_conflicting_rules_only_when_answers_differ() -> None:
    """Equal rules that agree are no conflict; disagreeing ones are, naming each rule."""
    assert conflicting_rules("a", 0, {"r1": "auth-needed", "r2": "auth-needed"}) is None
    conflict = conflicting_rules("a", 0, {"r1": "auth-needed", "r2": "no-auth"})
    assert conflict is not None
    assert conflict.codes == ("r1", "r2")
    assert "r2 says no-auth" in conflict.summary


def test_unknown_codes_lists_each_line() -> None:
    """Unknown codes are reported together, by line; none means no exception."""
    assert unknown_codes("a", {}) is None
    found = unknown_codes("a", {1: "0999T", 0: "0999T"})
    assert found is not None
    assert found.codes == ("0999T",)
    assert "line 0: 0999T, line 1: 0999T" in found.summary


def test_eligibility_mismatch_names_every_disagreement() -> None:
    """Inactive coverage, a plan ending before the service and another member id all show."""
    request = draft(T0)
    assert eligibility_mismatch(request, EligibilityAnswer(active=True)) is None
    found = eligibility_mismatch(
        request,
        EligibilityAnswer(active=False, plan_end=date(2026, 3, 1), member_id="OTHER"),
    )
    assert found is not None
    assert found.reason is ReviewReason.ELIGIBILITY_MISMATCH
    for part in ("not active", "after the plan does", "different member id"):
        assert part in found.summary


def test_routing_again_counts_and_reopens() -> None:
    """The same problem routed again counts an occurrence and reopens a resolved item."""
    exception = ReviewException(ReviewReason.MANUAL_REVIEW_RULE, "rule x", "auth-1", ("x",))
    item = ReviewItem.route(exception, "org-1", T0)
    resolved = item.resolve("user:pat", "called the payer", T0)
    assert resolved.status is ReviewStatus.RESOLVED
    again = resolved.seen_again(exception, T0 + timedelta(hours=1))
    assert (again.status, again.occurrences, again.resolution) == (ReviewStatus.OPEN, 2, None)
    with pytest.raises(ReviewError, match="already resolved"):
        resolved.resolve("user:pat", "again", T0)


def test_exception_needs_a_summary() -> None:
    """An exception nobody can act on is refused rather than queued blank."""
    with pytest.raises(ReviewError, match="summary"):
        ReviewException(ReviewReason.UNKNOWN_CODE, "  ")
