"""The claim-coverage rule, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from precert.domain.authorization import AuthorizationRequest, Decision, LineDetermination
from precert.domain.claims import ClaimLine, ClaimVerdict, check_claim_line
from precert.domain.codes import CodeSystem
from precert.domain.errors import DomainError
from tests.conftest import T0
from tests.factories import COORDINATOR, PAYER, draft


def decided(decision: LineDetermination) -> AuthorizationRequest:
    request = draft(T0)
    request.mark_ready(COORDINATOR, T0)
    request.submit(COORDINATOR, T0, channel="portal", attempt_key="a")
    request.record_determination(PAYER, T0, {0: decision})
    return request


def line(code: str = "72148", day: date = date(2026, 3, 20), units: str = "1") -> ClaimLine:
    return ClaimLine(CodeSystem.CPT, code, day, Decimal(units))


def test_substituted_code_is_covered() -> None:
    """A modified approval covers the code the payer approved instead."""
    request = decided(LineDetermination(decision=Decision.MODIFIED, authorized_code="72141"))
    assert check_claim_line([request], line("72141")).verdict is ClaimVerdict.COVERED
    assert check_claim_line([request], line("72148")).verdict is ClaimVerdict.COVERED


def test_denied_and_pending_explain_themselves() -> None:
    """A denied line says denied; a pended one says pending; none says no authorization."""
    denied = decided(LineDetermination(decision=Decision.DENIED, reason_text="not necessary"))
    pended = decided(LineDetermination(decision=Decision.PENDED))
    assert check_claim_line([denied], line()).verdict is ClaimVerdict.DENIED
    assert check_claim_line([pended], line()).verdict is ClaimVerdict.PENDING
    assert check_claim_line([], line()).verdict is ClaimVerdict.NO_AUTHORIZATION


def test_units_run_out_and_repeats_are_ignored() -> None:
    """Applying a claim twice uses units once; asking for more than remain is refused."""
    request = decided(LineDetermination(decision=Decision.APPROVED, authorized_units=Decimal(2)))
    assert request.apply_claim(
        COORDINATOR,
        T0,
        claim_reference="C1",
        line_index=0,
        units=Decimal(2),
        service_date=date(2026, 3, 20),
    )
    assert not request.apply_claim(
        COORDINATOR,
        T0,
        claim_reference="C1",
        line_index=0,
        units=Decimal(2),
        service_date=date(2026, 3, 20),
    )
    assert request.units_remaining(0) == 0
    assert check_claim_line([request], line()).verdict is ClaimVerdict.UNITS_EXHAUSTED
    with pytest.raises(DomainError, match="only 0 approved"):
        request.apply_claim(
            COORDINATOR,
            T0,
            claim_reference="C2",
            line_index=0,
            units=Decimal(1),
            service_date=date(2026, 3, 20),
        )
