"""The demo data set: deterministic, calibrated to its sources, valid codes, legal histories."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from precert.demo import (
    CATEGORY_CALIBRATION,
    DEMO_PAYERS,
    DEMO_STATE,
    DEMO_TIMEZONE,
    DENIAL_SHARE,
    DENIALS_APPEALED_SHARE,
    OVERTURNED_SHARE,
    DemoDataSet,
    generate_demo,
)
from precert.domain.authorization import (
    TRANSITIONS,
    AuthorizationRequest,
    DomainEvent,
    LineOfBusiness,
    Role,
    ServiceCategory,
    Status,
    Urgency,
)
from precert.domain.codes import CodeSystem, check_icd10cm, check_npi, check_procedure_code
from precert.domain.deadlines import TimeUnit, business_days_between

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
History = tuple[AuthorizationRequest, list[DomainEvent]]
_DETERMINATION = "authorization.determination_recorded"
_STATUS_VALUES = {s.value for s in Status}
_DENIALS = {Status.DENIED.value, Status.PARTIALLY_APPROVED.value}


@pytest.fixture(scope="module")
def demo() -> DemoDataSet:
    """The default-size data set, generated once for the module."""
    return generate_demo(now=NOW, organization_id="demo")


def _first_final_determination(events: list[DomainEvent]) -> DomainEvent | None:
    return next(
        (e for e in events if e.type == _DETERMINATION and e.payload["status"] != "pended"), None
    )


def _fingerprint(data: DemoDataSet) -> list[tuple[dict[str, object], list[dict[str, object]]]]:
    return [
        (request.model_dump(mode="json"), [e.model_dump(mode="json") for e in events])
        for request, events in data.requests
    ]


def test_same_seed_gives_the_same_data_set() -> None:
    """Two runs with one seed agree on every field of every request and event, ids included."""
    first = generate_demo(seed=11, size=300, now=NOW, organization_id="demo")
    second = generate_demo(seed=11, size=300, now=NOW, organization_id="demo")
    assert _fingerprint(first) == _fingerprint(second)
    assert first.coordinators == second.coordinators


def test_another_seed_gives_another_data_set() -> None:
    """A different seed changes the requests."""
    first = generate_demo(seed=11, size=100, now=NOW, organization_id="demo")
    second = generate_demo(seed=12, size=100, now=NOW, organization_id="demo")
    assert _fingerprint(first) != _fingerprint(second)


def test_now_must_be_timezone_aware() -> None:
    """A naive ``now`` is refused rather than guessed at."""
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_demo(size=10, now=datetime(2026, 3, 2), organization_id="demo")


def test_five_thousand_requests_generate_well_under_ten_seconds() -> None:
    """The default size is fast enough for ``make run`` to load it on first start."""
    started = time.perf_counter()
    data = generate_demo(seed=3, now=NOW, organization_id="demo")
    assert len(data.requests) == 5000
    assert time.perf_counter() - started < 10


def test_payers_are_the_five_fictional_ones(demo: DemoDataSet) -> None:
    """Exactly the five named payers, with fictional phones, all present in the requests."""
    assert [(p.id, p.name) for p in DEMO_PAYERS] == [
        ("northwind-health", "Northwind Health Plan"),
        ("cascade-mutual", "Cascade Mutual"),
        ("gateway-medicare", "Gateway Medicare Advantage"),
        ("showme-medicaid", "Show-Me Care"),
        ("summit-exchange", "Summit Exchange Plans"),
    ]
    assert DEMO_PAYERS[1].lines_of_business == (LineOfBusiness.COMMERCIAL, LineOfBusiness.EXCHANGE)
    assert DEMO_PAYERS[3].lines_of_business == (LineOfBusiness.MEDICAID,)
    assert all(re.fullmatch(r"\d{3}-555-01\d\d", p.phone) for p in DEMO_PAYERS)
    assert len({p.x12_payer_id for p in DEMO_PAYERS}) == 5
    used = {request.coverage.payer_id for request, _ in demo.requests}
    assert used == {p.id for p in DEMO_PAYERS}


def test_every_category_is_present(demo: DemoDataSet) -> None:
    """All seven service categories appear."""
    assert {request.category for request, _ in demo.requests} == set(ServiceCategory)


def test_denial_share_matches_kff(demo: DemoDataSet) -> None:
    """6.4% of decided requests are fully or partially denied at their first decision."""
    firsts = [_first_final_determination(events) for _, events in demo.requests]
    decided = [e for e in firsts if e is not None]
    denied = [e for e in decided if e.payload["status"] in _DENIALS]
    assert len(decided) > 4500
    assert len(denied) / len(decided) == pytest.approx(DENIAL_SHARE, abs=0.001)


def test_appeal_and_overturn_shares_match_kff(demo: DemoDataSet) -> None:
    """11.7% of denials are appealed; about 81.7% of decided appeals are overturned."""
    denied = appealed = resolved = overturned = 0
    for _, events in demo.requests:
        first = _first_final_determination(events)
        if first is None or first.payload["status"] not in _DENIALS:
            continue
        denied += 1
        appeal_events = [e for e in events if e.type.startswith("authorization.appeal_")]
        if not appeal_events:
            continue
        appealed += 1
        outcomes = [e for e in events if "overturned" in e.payload]
        if outcomes and (outcomes[-1].payload["overturned"] or len(outcomes) == len(appeal_events)):
            resolved += 1
            overturned += outcomes[-1].payload["overturned"]
    assert appealed / denied == pytest.approx(DENIALS_APPEALED_SHARE, abs=0.01)
    assert resolved >= appealed * 0.8
    assert overturned / resolved == pytest.approx(OVERTURNED_SHARE, abs=0.05)


def test_decision_times_follow_the_category_table(demo: DemoDataSet) -> None:
    """Standard decisions fall in their category's range; expedited ones inside 72 hours."""
    seen: Counter[ServiceCategory] = Counter()
    for request, events in demo.requests:
        first = _first_final_determination(events)
        if first is None:
            continue
        submitted = [e for e in events if e.type == "authorization.submitted" and e.at <= first.at]
        start = submitted[-1].at
        if request.urgency is Urgency.EXPEDITED:
            assert first.at - start < timedelta(hours=72)
            continue
        calibration = CATEGORY_CALIBRATION[request.category]
        low, high = calibration.decision_time
        if calibration.decision_unit is TimeUnit.HOURS:
            elapsed = first.at - start
            assert timedelta(hours=low) <= elapsed <= timedelta(hours=high)
        else:
            days = business_days_between(start, first.at, tz=DEMO_TIMEZONE, state=DEMO_STATE)
            assert low <= days <= high, (request.category, days)
        seen[request.category] += 1
    assert set(seen) == set(ServiceCategory)


def test_amounts_follow_the_category_table(demo: DemoDataSet) -> None:
    """Each request's estimated total lies inside its category's dollar range."""
    for request, _ in demo.requests:
        low, high = CATEGORY_CALIBRATION[request.category].amount_dollars
        assert Decimal(low) - 1 <= request.total_amount <= Decimal(high) + 1


def test_every_code_is_valid(demo: DemoDataSet) -> None:
    """Diagnoses are billable ICD-10-CM, NPIs pass their check digit, procedures their format."""
    for request, _ in demo.requests:
        check_npi(request.requesting_provider.npi)
        check_npi(request.servicing_provider.npi)
        for line in request.service_lines:
            assert check_procedure_code(line.code_system, line.code) == line.code
            for diagnosis in line.diagnoses:
                assert check_icd10cm(diagnosis) == diagnosis
            if request.category is ServiceCategory.SPECIALTY_DRUG:
                assert line.code_system is CodeSystem.HCPCS
                assert line.code.startswith("J")
            if request.category is ServiceCategory.INPATIENT_ADMISSION:
                assert line.place_of_service == "21"


def test_every_history_is_a_legal_walk_of_the_state_machine(demo: DemoDataSet) -> None:
    """Replaying each history's moves through TRANSITIONS reaches the request's status."""
    for request, events in demo.requests:
        assert events[0].type == "authorization.created"
        status = Status.DRAFT
        for previous, event in pairwise(events):
            assert previous.at <= event.at <= NOW
        for event in events[1:]:
            name = event.type.removeprefix("authorization.")
            if event.type == _DETERMINATION:
                target = Status(event.payload["status"])
            elif name in _STATUS_VALUES:
                target = Status(name)
            else:
                continue  # a note, not a move
            repeated_pend = target is status is Status.PENDED
            assert repeated_pend or target in TRANSITIONS[status], (status, target)
            status = target
        assert status is request.status


def test_recent_requests_are_still_in_flight(demo: DemoDataSet) -> None:
    """The data set looks like a live queue: some requests await each next step."""
    statuses = Counter(request.status for request, _ in demo.requests)
    for waiting in (Status.DRAFT, Status.SUBMITTED, Status.PENDED, Status.CANCELLED):
        assert statuses[waiting] > 0, waiting
    assert statuses[Status.EXPIRED] > 0


def test_actors_are_coordinators_payers_and_the_system(demo: DemoDataSet) -> None:
    """Coordinators act as coordinators, payers through their integration, expiry as system."""
    coordinator_ids = {user.id for user in demo.coordinators}
    payer_ids = {f"payer:{p.id}" for p in DEMO_PAYERS}
    for _, events in demo.requests:
        for event in events:
            if event.actor.role is Role.COORDINATOR:
                assert event.actor.id in coordinator_ids
            elif event.actor.role is Role.INTEGRATION:
                assert event.actor.id in payer_ids
            else:
                assert event.actor.role is Role.SYSTEM
                assert event.type == "authorization.expired"


def test_people_and_identifiers_are_synthetic(demo: DemoDataSet) -> None:
    """Member ids, record numbers and e-mails carry markers no real system issues."""
    for request, _ in demo.requests:
        assert re.fullmatch(r"DM[A-Z]{3}\d{9}", request.patient.member_id)
        assert request.coverage.member_id == request.patient.member_id
        assert request.patient.id.startswith("DEMO-MRN-")
        assert request.organization_id == "demo"
    assert all(user.email.endswith("@demo.example") for user in demo.coordinators)
    assert all(user.role is Role.COORDINATOR for user in demo.coordinators)


def test_requests_are_in_chronological_order(demo: DemoDataSet) -> None:
    """Requests come ordered by creation time, all inside the 12 months before now."""
    created = [request.created_at for request, _ in demo.requests]
    assert created == sorted(created)
    assert NOW - timedelta(days=366) <= created[0]
    assert created[-1] <= NOW
