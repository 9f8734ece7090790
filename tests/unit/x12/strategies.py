"""Hypothesis strategies for domain objects the X12 mapping carries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from precert.domain.authorization import (
    AuthorizationRequest,
    Coverage,
    Decision,
    LineDetermination,
    LineOfBusiness,
    Patient,
    Provider,
    ServiceCategory,
    ServiceLine,
    Sex,
    Urgency,
)
from precert.domain.codes import CodeSystem, check_icd10cm, npi_check_digit
from precert.interop.x12.mapping import ACTION_DECISIONS, RequestContext

_CANDIDATE_DIAGNOSES = ("I10", "E11.9", "J45.909", "M54.16", "F32.9", "M17.11", "K21.9")


def _valid_icd(code: str) -> bool:
    try:
        check_icd10cm(code)
    except ValueError:
        return False
    return True


DIAGNOSES = tuple(c for c in _CANDIDATE_DIAGNOSES if _valid_icd(c))
CREATED = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)

_word = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)
_ident = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=2, max_size=20)
_npi = st.text(alphabet="0123456789", min_size=9, max_size=9).map(
    lambda nine: nine + npi_check_digit(nine)
)
_day = st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def providers(draw: st.DrawFn) -> Provider:
    """Individual or organizational providers with names X12 NM1 can hold."""
    kind = draw(st.sampled_from(["individual", "organization"]))
    if kind == "organization":
        name = " ".join(draw(st.lists(_word, min_size=1, max_size=3)))
    else:
        name = f"{draw(_word)} {draw(_word)}"
    taxonomy = draw(st.sampled_from([None, "207Q00000X", "2085R0202X"]))
    return Provider(npi=draw(_npi), name=name, kind=kind, taxonomy=taxonomy)


@st.composite
def service_lines(draw: st.DrawFn) -> ServiceLine:
    """Service lines coded CPT, HCPCS or NDC with up to four diagnoses."""
    system = draw(st.sampled_from(list(CodeSystem)))
    if system is CodeSystem.CPT:
        code = draw(st.sampled_from(["72148", "97110", "99213", "0001U", "3008F"]))
    elif system is CodeSystem.HCPCS:
        code = draw(st.sampled_from(["J1745", "E0601", "L3960"]))
    else:
        code = draw(st.sampled_from(["00002140701", "50242004062"]))
    start = draw(_day)
    return ServiceLine(
        code_system=system,
        code=code,
        modifiers=tuple(draw(st.lists(st.sampled_from(["RT", "LT", "59", "GP"]), max_size=2))),
        units=Decimal(draw(st.integers(min_value=1, max_value=5000))) / 10,
        service_start=start,
        service_end=start + timedelta(days=draw(st.integers(min_value=0, max_value=60))),
        place_of_service=draw(st.sampled_from(["11", "22", "21", "12"])),
        diagnoses=tuple(
            draw(st.lists(st.sampled_from(DIAGNOSES), min_size=1, max_size=4, unique=True))
        ),
        estimated_amount=Decimal(draw(st.integers(min_value=0, max_value=10_000_00))) / 100,
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[AuthorizationRequest, RequestContext]:
    """An authorization request and the plan facts a 278 does not carry."""
    member_id = draw(_ident)
    patient = Patient(
        id=draw(_ident),
        given_name=draw(_word),
        family_name=draw(_word),
        birth_date=draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2023, 12, 31))),
        sex=draw(st.sampled_from([Sex.FEMALE, Sex.MALE, Sex.UNKNOWN])),
        member_id=draw(st.sampled_from([member_id, member_id + "01"])),
    )
    context = RequestContext(
        plan=draw(_word),
        line_of_business=draw(st.sampled_from(list(LineOfBusiness))),
        state=draw(st.sampled_from(["MO", "KS", "IL"])),
        effective_from=date(2024, 1, 1),
        effective_to=draw(st.sampled_from([None, date(2026, 12, 31)])),
        created_at=CREATED,
        updated_at=CREATED,
    )
    coverage = Coverage(
        payer_id=draw(_ident),
        plan=context.plan,
        line_of_business=context.line_of_business,
        member_id=member_id,
        group_number=draw(st.one_of(st.none(), _ident)),
        state=context.state,
        effective_from=context.effective_from,
        effective_to=context.effective_to,
    )
    request = AuthorizationRequest(
        organization_id=draw(_ident),
        patient=patient,
        coverage=coverage,
        requesting_provider=draw(providers()),
        servicing_provider=draw(providers()),
        service_lines=tuple(draw(st.lists(service_lines(), min_size=1, max_size=3))),
        urgency=draw(st.sampled_from(list(Urgency))),
        category=draw(st.sampled_from(list(ServiceCategory))),
        created_at=CREATED,
        updated_at=CREATED,
    )
    return request, context


@st.composite
def determinations(draw: st.DrawFn) -> LineDetermination:
    """A payer determination as a 278 HCR/DTP/HSD/MSG can express it."""
    action = draw(st.sampled_from(sorted(ACTION_DECISIONS)))
    decision = ACTION_DECISIONS[action]
    start = draw(st.one_of(st.none(), _day))
    end = draw(st.one_of(st.none(), _day.filter(lambda d: start is None or d >= start)))
    reason_code = draw(st.sampled_from([None, "0U", "0V"]))
    reason_text = draw(
        st.one_of(
            st.none(),
            st.text(alphabet="ABCDEFGHIJ KLMNOP", min_size=1, max_size=60)
            .map(str.strip)
            .filter(bool),
        )
    )
    if decision is Decision.DENIED and not (reason_code or reason_text):
        reason_text = "NOT MEDICALLY NECESSARY"
    return LineDetermination(
        decision=decision,
        certification_number=draw(st.one_of(st.none(), _ident)),
        authorized_units=draw(st.one_of(st.none(), st.integers(0, 999).map(Decimal))),
        valid_from=start,
        valid_to=end,
        reason_code=reason_code,
        reason_text=reason_text,
        x12_action=action,
    )
