"""Metrics over small fixed histories, with every expected value computed by hand.

The histories (organization timezone America/Chicago, coverage state Missouri):

- A: imaging, standard, payer north: draft 30 min, ready 30 min, submitted Mon
  2026-03-02 15:00Z, approved 24 h later; one touch of 20 minutes.
- B: surgery, standard, north: draft 1 h, ready 1 h, submitted 03-02 16:00Z,
  pended 48 h later, denied (medical necessity) on 03-12 16:00Z (10 days: 8
  business days, past the 7-day clock), appealed 03-20, overturned 04-20; 40 minutes.
- C: drug, expedited, payer south, lines of $1,000 and $500: submitted 03-02
  15:00Z, rejected an hour later, resubmitted 03-03 15:00Z, partially approved
  on Sat 03-07 15:00Z (96 h: past the 72-hour clock; 3 business days), the $500
  line denied for step therapy.
- D: imaging, standard, south, $1,850, service 03-25: submitted 03-05 15:00Z, no
  decision yet (overdue on 03-20).
- E: imaging draft, $300, service 03-22, never submitted.

Lines of business: A and C Medicare Advantage, B Medicaid, D exchange, E commercial.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from precert.analytics import cms0057f, metrics
from precert.analytics.facts import (
    AuthorizationFacts,
    AuthorizationHistory,
    HistoryEvent,
    RequestSummary,
    advance,
    derive_facts,
    is_drug_request,
)
from precert.analytics.metrics import MetricFilter, Period
from precert.domain.appeals import AppealLevel
from precert.domain.authorization import LineOfBusiness, ServiceCategory, Status, Urgency
from precert.domain.codes import CodeSystem

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant in 2026 (UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def move(status: str, when: datetime, previous: str, **payload: Any) -> HistoryEvent:
    """A status move as the aggregate records it."""
    return HistoryEvent(f"authorization.{status}", when, {"previous": previous, **payload})


def determination(
    when: datetime, previous: str, status: str, lines: dict[str, dict[str, str]]
) -> HistoryEvent:
    """A determination as the aggregate records it."""
    payload = {"previous": previous, "status": status, "lines": lines}
    return HistoryEvent("authorization.determination_recorded", when, payload)


def history(
    key: str,
    payer: str,
    category: ServiceCategory,
    urgency: Urgency,
    status: Status,
    amounts: tuple[str, ...],
    service: date,
    events: list[HistoryEvent],
    line_of_business: LineOfBusiness = LineOfBusiness.MEDICARE_ADVANTAGE,
    code_systems: tuple[CodeSystem, ...] = (CodeSystem.CPT,),
) -> AuthorizationHistory:
    """A plain history record (its lines coded in ``code_systems``)."""
    summary = RequestSummary(
        id=key,
        organization_id="org",
        payer_id=payer,
        category=category,
        urgency=urgency,
        line_of_business=line_of_business,
        drug=is_drug_request(category, code_systems),
        coverage_state="MO",
        status=status,
        created_at=events[0].at,
        first_service_date=service,
        line_amounts=tuple(Decimal(a) for a in amounts),
    )
    return AuthorizationHistory(summary, tuple(events))


def created(when: datetime) -> HistoryEvent:
    """The opening event."""
    return HistoryEvent("authorization.created", when, {})


APPROVED = {"decision": "approved"}
HISTORIES = [
    history(
        "A",
        "north",
        ServiceCategory.ADVANCED_IMAGING,
        Urgency.STANDARD,
        Status.APPROVED,
        ("1200.00",),
        date(2026, 3, 10),
        [
            created(at(2, 14)),
            move("ready", at(2, 14, 30), "draft"),
            move("submitted", at(2, 15), "ready"),
            HistoryEvent("authorization.touch", at(2, 15, 5), {"minutes": 20}),
            determination(at(3, 15), "submitted", "approved", {"0": APPROVED}),
        ],
    ),
    history(
        "B",
        "north",
        ServiceCategory.ELECTIVE_SURGERY,
        Urgency.STANDARD,
        Status.APPROVED,
        ("20000.00",),
        date(2026, 4, 30),
        [
            created(at(2, 14)),
            move("ready", at(2, 15), "draft"),
            move("submitted", at(2, 16), "ready"),
            HistoryEvent("authorization.touch", at(2, 16), {"minutes": 40}),
            determination(at(4, 16), "submitted", "pended", {"0": {"decision": "pended"}}),
            determination(
                at(12, 16),
                "pended",
                "denied",
                {
                    "0": {
                        "decision": "denied",
                        "reason_code": "medical_necessity",
                        "reason_text": "Not necessary",
                    }
                },
            ),
            move("appeal_first_level", at(20, 16), "denied", level="first_level"),
            move(
                "approved",
                at(20, 16, month=4),
                "appeal_first_level",
                level="first_level",
                overturned=True,
            ),
        ],
        line_of_business=LineOfBusiness.MEDICAID,
    ),
    history(
        "C",
        "south",
        ServiceCategory.SPECIALTY_DRUG,
        Urgency.EXPEDITED,
        Status.PARTIALLY_APPROVED,
        ("1000.00", "500.00"),
        date(2026, 3, 9),
        [
            created(at(2, 14)),
            move("ready", at(2, 14), "draft"),
            move("submitted", at(2, 15), "ready"),
            move("ready", at(2, 16), "submitted", code="15"),
            move("submitted", at(3, 15), "ready"),
            determination(
                at(7, 15),
                "submitted",
                "partially_approved",
                {
                    "0": APPROVED,
                    "1": {
                        "decision": "denied",
                        "reason_code": "step_therapy",
                        "reason_text": "Step therapy",
                    },
                },
            ),
        ],
    ),
    history(
        "D",
        "south",
        ServiceCategory.ADVANCED_IMAGING,
        Urgency.STANDARD,
        Status.SUBMITTED,
        ("1850.00",),
        date(2026, 3, 25),
        [
            created(at(5, 14)),
            move("ready", at(5, 14, 30), "draft"),
            move("submitted", at(5, 15), "ready"),
        ],
        line_of_business=LineOfBusiness.EXCHANGE,
    ),
    history(
        "E",
        "north",
        ServiceCategory.ADVANCED_IMAGING,
        Urgency.STANDARD,
        Status.DRAFT,
        ("300.00",),
        date(2026, 3, 22),
        [created(at(6, 14))],
        line_of_business=LineOfBusiness.COMMERCIAL,
    ),
]


@pytest.fixture(scope="module")
def facts() -> list[AuthorizationFacts]:
    """The facts of the five histories."""
    return [derive_facts(h, TZ) for h in HISTORIES]


@pytest.fixture(scope="module")
def board(facts: list[AuthorizationFacts]) -> metrics.Dashboard:
    """The unfiltered dashboard as of 2026-03-20 18:00Z."""
    return metrics.dashboard(facts, MetricFilter(), AS_OF, TZ)


def test_rates(board: metrics.Dashboard) -> None:
    """Four submitted; three answered; A alone is a first pass; B and C are denials."""
    assert board.submitted == 4
    assert board.first_pass == metrics.Rate.of(1, 3)
    assert board.first_pass_target == 0.95
    assert board.approval == metrics.Rate.of(1, 3)
    assert board.denial == metrics.Rate.of(2, 3)
    assert board.pended == metrics.Rate.of(1, 3)


def test_decision_time(board: metrics.Dashboard) -> None:
    """Hours 24, 240 and 96 (from the accepted resubmission); business days 1, 8 and 3."""
    assert board.decision_time.hours == metrics.Summary(count=3, mean=120.0, median=96, p90=240)
    assert board.decision_time.business_days == metrics.Summary(count=3, mean=4.0, median=3, p90=8)


def test_clocks(board: metrics.Dashboard) -> None:
    """B missed the 7-day clock, C the 72-hour one; D is past its 7 days on 03-20."""
    assert board.clocks == metrics.ClockCompliance(missed=metrics.Rate.of(2, 3), overdue_now=1)


def test_denial_reasons_and_appeals(board: metrics.Dashboard) -> None:
    """One request per reason, ties by code; B's first-level appeal was overturned."""
    assert [(r.code, r.count) for r in board.top_denial_reasons] == [
        ("medical_necessity", 1),
        ("step_therapy", 1),
    ]
    first, *others = board.appeals
    assert (first.level, first.filed, first.overturn) == (
        AppealLevel.FIRST_LEVEL,
        1,
        metrics.Rate.of(1, 1),
    )
    assert all(a.filed == 0 and a.overturn.value is None for a in others)


def test_staff_time(board: metrics.Dashboard) -> None:
    """Imaging: 20 minutes over A and D; surgery: 40 over B; drugs: none recorded."""
    by_category = {s.category: s for s in board.staff_time}
    assert by_category[ServiceCategory.ADVANCED_IMAGING].minutes_per_request == 10.0
    assert by_category[ServiceCategory.ELECTIVE_SURGERY].minutes_per_request == 40.0
    assert by_category[ServiceCategory.SPECIALTY_DRUG].minutes == 0


def test_revenue_at_risk(board: metrics.Dashboard) -> None:
    """D and E are undecided with service within 14 days; C's $500 line stands denied."""
    risk = board.revenue_at_risk
    assert (risk.pending_requests, risk.pending_amount) == (2, Decimal("2150.00"))
    assert (risk.denied_requests, risk.denied_amount) == (1, Decimal("500.00"))


def test_bottlenecks(board: metrics.Dashboard) -> None:
    """Median whole hours and mean hours per waiting state, over requests that left it."""
    found = {s.state: (s.requests, s.median_hours, s.mean_hours) for s in board.bottlenecks}
    assert found[Status.DRAFT] == (4, 0, 0.5)
    assert found[Status.READY] == (4, 0, 6.5)
    assert found[Status.SUBMITTED] == (3, 48, pytest.approx(169 / 3))
    assert found[Status.PENDED] == (1, 192, 192.0)
    assert found[Status.APPEAL_FIRST_LEVEL] == (1, 744, 744.0)


def test_trend(board: metrics.Dashboard) -> None:
    """All four submissions fall in March 2026 (local time)."""
    (march,) = board.trend
    assert (march.month, march.submitted, march.first_pass) == (
        date(2026, 3, 1),
        4,
        metrics.Rate.of(1, 3),
    )


def test_filters(facts: list[AuthorizationFacts]) -> None:
    """Urgency keeps only C; a period without first submissions is empty."""
    expedited = metrics.dashboard(facts, MetricFilter(urgency=Urgency.EXPEDITED), AS_OF, TZ)
    assert (expedited.submitted, expedited.denial) == (1, metrics.Rate.of(1, 1))
    april = metrics.dashboard(facts, MetricFilter(period=Period.month(2026, 4)), AS_OF, TZ)
    assert (april.submitted, april.first_pass.value, april.clocks.overdue_now) == (0, None, 0)


def test_scorecards(facts: list[AuthorizationFacts]) -> None:
    """North: A first pass, B denied late; south: C denied late, D overdue."""
    north, south = metrics.scorecards(facts, MetricFilter(), AS_OF, TZ)
    assert (north.payer_id, north.first_pass, north.denial) == (
        "north",
        metrics.Rate.of(1, 2),
        metrics.Rate.of(1, 2),
    )
    assert north.decision_time.hours.median == 24
    assert (south.payer_id, south.clocks) == (
        "south",
        metrics.ClockCompliance(missed=metrics.Rate.of(1, 1), overdue_now=1),
    )


def test_cms_report(facts: list[AuthorizationFacts]) -> None:
    """Standard: A (MA) approved, B (Medicaid) denied then overturned; D (exchange) waits.
    Expedited: C is a specialty drug, so no expedited request counts."""
    report = cms0057f.report_from_facts(facts, 2026, ())
    assert report.standard.approved == metrics.Rate.of(1, 2)
    assert report.standard.approved_after_appeal == metrics.Rate.of(1, 2)
    assert report.standard.approved_after_extension == metrics.Rate.of(0, 2)
    assert (report.standard.average_decision_hours, report.standard.median_decision_hours) == (
        132.0,
        24,
    )
    assert report.expedited.decided == 0
    assert report.expedited.denied == metrics.Rate.of(0, 0)
    assert report.expedited.approved_after_appeal is None
    assert "standard,approved (%),50.00,1,2" in cms0057f.render_csv(report)


#: Three more histories, all submitted 03-02 15:00Z and decided without a pend.
SCOPE_HISTORIES = [
    # F: commercial, standard, approved after 48 h: outside the rule's lines of business.
    history(
        "F",
        "north",
        ServiceCategory.ADVANCED_IMAGING,
        Urgency.STANDARD,
        Status.APPROVED,
        ("100.00",),
        date(2026, 3, 20),
        [
            created(at(2, 14)),
            move("submitted", at(2, 15), "draft"),
            determination(at(4, 15), "submitted", "approved", {"0": APPROVED}),
        ],
        line_of_business=LineOfBusiness.COMMERCIAL,
    ),
    # G: Medicaid, expedited, DME approved after 10 h: counts.
    history(
        "G",
        "south",
        ServiceCategory.DME,
        Urgency.EXPEDITED,
        Status.APPROVED,
        ("100.00",),
        date(2026, 3, 20),
        [
            created(at(2, 14)),
            move("submitted", at(2, 15), "draft"),
            determination(at(3, 1), "submitted", "approved", {"0": APPROVED}),
        ],
        line_of_business=LineOfBusiness.MEDICAID,
    ),
    # H: Medicare Advantage, expedited, "other" category but an NDC-coded line, denied
    # after 20 h: a drug request, excluded.
    history(
        "H",
        "south",
        ServiceCategory.OTHER,
        Urgency.EXPEDITED,
        Status.DENIED,
        ("100.00", "50.00"),
        date(2026, 3, 20),
        [
            created(at(2, 14)),
            move("submitted", at(2, 15), "draft"),
            determination(
                at(3, 11), "submitted", "denied", {"0": {"decision": "denied"}, "1": APPROVED}
            ),
        ],
        code_systems=(CodeSystem.HCPCS, CodeSystem.NDC),
    ),
]


def test_cms_report_counts_only_the_rules_scope(facts: list[AuthorizationFacts]) -> None:
    """F (commercial), C (specialty drug) and H (NDC line) are left out; G counts.

    Standard: A approved 24 h, B denied 240 h, F left out (else approved 2 of 3 and
    an average of 104 h). Expedited: only G, approved in 10 h (C and H, both denied,
    would make it 1 approved of 3).
    """
    extra = [derive_facts(h, TZ) for h in SCOPE_HISTORIES]
    report = cms0057f.report_from_facts([*facts, *extra], 2026, ())
    assert report.standard.approved == metrics.Rate.of(1, 2)
    assert report.standard.average_decision_hours == 132.0
    assert report.expedited.approved == metrics.Rate.of(1, 1)
    assert report.expedited.denied == metrics.Rate.of(0, 1)
    assert (report.expedited.average_decision_hours, report.expedited.median_decision_hours) == (
        10.0,
        10,
    )
    everything = metrics.tally_facts(
        [*facts, *extra], MetricFilter(urgency=Urgency.EXPEDITED, period=Period.year(2026))
    )
    assert metrics.approval_rate(everything) == metrics.Rate.of(1, 3)


def test_line_of_business_filter(facts: list[AuthorizationFacts]) -> None:
    """Commercial keeps only E (never submitted); MA and Medicaid keep A, B and C."""
    commercial = MetricFilter(lines_of_business=frozenset({LineOfBusiness.COMMERCIAL}))
    board = metrics.dashboard(facts, commercial, AS_OF, TZ)
    assert (board.submitted, board.revenue_at_risk.pending_amount) == (0, Decimal("300.00"))
    both = frozenset({LineOfBusiness.MEDICARE_ADVANTAGE, LineOfBusiness.MEDICAID})
    board = metrics.dashboard(facts, MetricFilter(lines_of_business=both), AS_OF, TZ)
    assert (board.submitted, board.approval.denominator) == (3, 3)
    no_drugs = metrics.dashboard(facts, MetricFilter(exclude_drugs=True), AS_OF, TZ)
    assert no_drugs.submitted == 3


def test_drug_requests() -> None:
    """The specialty-drug category, or any NDC line, makes a drug request."""
    assert is_drug_request(ServiceCategory.SPECIALTY_DRUG, [CodeSystem.HCPCS])
    assert is_drug_request(ServiceCategory.OTHER, [CodeSystem.CPT, CodeSystem.NDC])
    assert not is_drug_request(ServiceCategory.DME, [CodeSystem.HCPCS])


def test_incremental_fold_equals_whole_history() -> None:
    """Folding B's events in two saves gives the facts of folding them at once."""
    b = HISTORIES[1]
    first = advance(None, b.summary, b.events[:4], TZ)
    assert advance(first, b.summary, b.events[4:], TZ) == derive_facts(b, TZ)


def test_extension_moves_the_standard_clock() -> None:
    """A decision on day 10 misses the 7-day clock, but not after an extension to 14 days."""
    base = [created(at(2, 14)), move("submitted", at(2, 15), "draft")]
    decided = determination(at(12, 15), "submitted", "approved", {"0": APPROVED})
    extension = HistoryEvent("authorization.extension", at(6, 15), {"days": 14})
    plain = derive_facts(
        history(
            "X",
            "p",
            ServiceCategory.DME,
            Urgency.STANDARD,
            Status.APPROVED,
            ("1",),
            date(2026, 4, 1),
            [*base, decided],
        ),
        TZ,
    )
    extended = derive_facts(
        history(
            "Y",
            "p",
            ServiceCategory.DME,
            Urgency.STANDARD,
            Status.APPROVED,
            ("1",),
            date(2026, 4, 1),
            [*base, extension, decided],
        ),
        TZ,
    )
    assert (plain.clock_missed, extended.clock_missed, extended.extended) == (True, False, True)


@pytest.mark.parametrize("minutes", [-5, 2.5, "ten", None, True])
def test_touch_needs_whole_minutes(minutes: object) -> None:
    """A touch without a non-negative whole number of minutes is refused."""
    events = [
        created(at(2, 14)),
        HistoryEvent("authorization.touch", at(2, 15), {"minutes": minutes}),
    ]
    with pytest.raises(ValueError, match="minutes"):
        derive_facts(
            history(
                "T",
                "p",
                ServiceCategory.DME,
                Urgency.STANDARD,
                Status.DRAFT,
                ("1",),
                date(2026, 4, 1),
                events,
            ),
            TZ,
        )


def test_percentile_is_nearest_rank() -> None:
    """The median of 1, 2, 3, 4 is 2; the p90 of ten values is the ninth."""
    assert metrics.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2
    assert metrics.percentile(dict.fromkeys(range(1, 11), 1), 0.9) == 9
    assert metrics.percentile({}, 0.5) is None


def test_period_constructors() -> None:
    """The last three months of 2026-02-14 run from December 2025 to February 2026."""
    assert Period.last_months(date(2026, 2, 14), 3) == Period(date(2025, 12, 1), date(2026, 2, 1))
    assert date(2026, 7, 1) in Period.year(2026)
    with pytest.raises(ValueError, match="before"):
        Period(date(2026, 3, 1), date(2026, 2, 1))


def test_hours_are_elapsed_across_daylight_saving() -> None:
    """Submitted before the 2026-03-08 spring-forward and decided 72 elapsed hours later."""
    events = [
        created(at(6, 12)),
        move("submitted", at(6, 12), "draft"),
        determination(at(6, 12) + timedelta(hours=72), "submitted", "approved", {"0": APPROVED}),
    ]
    facts = derive_facts(
        history(
            "S",
            "p",
            ServiceCategory.DME,
            Urgency.EXPEDITED,
            Status.APPROVED,
            ("1",),
            date(2026, 4, 1),
            events,
        ),
        TZ,
    )
    assert (facts.decision_seconds, facts.clock_missed) == (72 * 3600, False)
