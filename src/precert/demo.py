"""A deterministic, synthetic demo data set: payers, coordinators and authorization histories.

``generate_demo`` builds objects and writes nothing; the CLI and ``make run``
persist them. The same seed always gives the same data set. Everything is
fictional: payers, people (Faker), member ids (prefixed ``DM``), NPIs (random
digits that pass the CMS check digit; a coincidence with a real NPI is possible
but carries no real name), phone numbers in the fictional 555-01xx range and
e-mail addresses under the reserved ``.example`` domain.

Each request walks the real ``AuthorizationRequest`` methods with historical
timestamps (open, mark ready, submit, sometimes a rejected submission, a pend
for documentation, the determination, appeals through the seed's levels,
cancellation, expiry of unused approvals), so its event history is one the
state machine itself produced. Steps that would fall after ``now`` are not
taken, which leaves the most recent requests in draft, ready, submitted,
pended or in appeal, as a live work queue would be.

Calibration, and where each figure comes from:

- Decision time per category, from the seed document's pre-certification table
  (``../shared/seed/pre-certification.txt``): elective surgery 3-5 business
  days, advanced imaging 24-48 hours, specialty drugs 5-10 business days, DME
  3-7 business days. Not in the seed, our assumptions: behavioral health 1-3
  business days, inpatient admission (pre-admission certification) 1-2
  business days, other services 2-5 business days. Expedited requests (a share
  of behavioral health and inpatient admissions, a few others) are decided in
  4-71 elapsed hours, inside the CMS-0057-F 72-hour clock. Business days come
  from ``precert.domain.deadlines`` (US federal and Missouri holidays).
- Amount per request, from the same table: surgery $15,000-$50,000, imaging
  $1,500-$5,000, specialty drugs $3,000-$25,000, DME $500-$5,000. Our
  assumptions: behavioral health $2,000-$15,000, inpatient admission
  $10,000-$40,000, other $300-$3,000.
- Outcomes, from KFF's analysis of Medicare Advantage prior authorization
  (2023 data, "Medicare Advantage Insurers Made Nearly 50 Million Prior
  Authorization Determinations in 2023", KFF, January 2025): 6.4% of requests
  fully or partially denied, 11.7% of denials appealed, 81.7% of appeals
  overturned fully or partially. They are applied as quotas, not coin flips,
  so the shares hold at any size: among requests decided before ``now``
  exactly round(6.4%) are denied (weighted towards specialty drugs and DME),
  round(11.7%) of those denials are appealed and round(81.7%) of the appeals
  decided by ``now`` end overturned. The seed's per-level appeal success rates (20-50%) cannot
  produce KFF's 81.7% overall; KFF wins for the aggregate, and the seed's
  table gives each level its decision window (``appeals.SEED_APPEAL_DEFAULTS``).
- Our assumptions for the rest: 10% of requests wait one to three business days
  for documentation before they are ready, 15% of decisions pended first,
  2% of submissions rejected and resubmitted, 3% of requests cancelled, 1.5% of
  approvals modified (fewer units), 4% of approvals never used (they expire
  the day after their validity ends).

Actors: coordinators are synthetic users acting with role ``coordinator``;
payer decisions and appeal outcomes arrive over the payer integration, so they
are recorded as ``Actor(id="payer:<payer id>", role=Role.INTEGRATION)``;
expiry is precert's own background work, ``Actor(id="system:deadlines",
role=Role.SYSTEM)``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from zoneinfo import ZoneInfo

from faker import Faker

from precert.domain.appeals import APPEAL_ORDER, SEED_APPEAL_DEFAULTS, AppealLevel
from precert.domain.authorization import (
    Actor,
    AuthorizationRequest,
    Coverage,
    Decision,
    DomainEvent,
    LineDetermination,
    LineOfBusiness,
    Patient,
    Provider,
    Role,
    ServiceCategory,
    ServiceLine,
    Sex,
    Urgency,
)
from precert.domain.codes import CodeSystem, check_icd10cm, npi_check_digit
from precert.domain.deadlines import TimeUnit, add_business_days, is_business_day

__all__ = [
    "CATEGORY_CALIBRATION",
    "DEMO_DIAGNOSES",
    "DEMO_ORGANIZATION_SLUG",
    "DEMO_PAYERS",
    "DEMO_STATE",
    "DEMO_TIMEZONE",
    "DENIALS_APPEALED_SHARE",
    "DENIAL_SHARE",
    "EXPIRY_ACTOR",
    "OVERTURNED_SHARE",
    "CategoryCalibration",
    "DemoDataSet",
    "DemoPayer",
    "DemoUser",
    "generate_demo",
    "payer_actor",
]

DEMO_ORGANIZATION_SLUG = "demo"
#: The demo organization is a Missouri provider: its clock and holidays are Missouri's.
DEMO_TIMEZONE = ZoneInfo("America/Chicago")
DEMO_STATE = "MO"

#: KFF, Medicare Advantage prior authorization, 2023 data.
DENIAL_SHARE = 0.064
DENIALS_APPEALED_SHARE = 0.117
OVERTURNED_SHARE = 0.817

EXPIRY_ACTOR = Actor(id="system:deadlines", role=Role.SYSTEM)

_PENDED_SHARE = 0.15
_REJECTED_SUBMISSION_SHARE = 0.02
_CANCELLED_SHARE = 0.03
_MODIFIED_SHARE_OF_APPROVALS = 0.015
_UNUSED_SHARE_OF_APPROVALS = 0.04
_SECOND_LINE_SHARE = 0.15
_SLOW_PREPARATION_SHARE = 0.10


@dataclass(frozen=True)
class DemoPayer:
    """A fictional payer of the demo data set."""

    id: str
    name: str
    lines_of_business: tuple[LineOfBusiness, ...]
    phone: str
    x12_payer_id: str


DEMO_PAYERS: tuple[DemoPayer, ...] = (
    DemoPayer(
        "northwind-health",
        "Northwind Health Plan",
        (LineOfBusiness.COMMERCIAL,),
        "800-555-0101",
        "NWHP1",
    ),
    DemoPayer(
        "cascade-mutual",
        "Cascade Mutual",
        (LineOfBusiness.COMMERCIAL, LineOfBusiness.EXCHANGE),
        "800-555-0102",
        "CSCM1",
    ),
    DemoPayer(
        "gateway-medicare",
        "Gateway Medicare Advantage",
        (LineOfBusiness.MEDICARE_ADVANTAGE,),
        "800-555-0103",
        "GWMA1",
    ),
    DemoPayer(
        "showme-medicaid",
        # Fictional Missouri Medicaid managed care plan.
        "Show-Me Care",
        (LineOfBusiness.MEDICAID,),
        "800-555-0104",
        "SMCR1",
    ),
    DemoPayer(
        "summit-exchange",
        "Summit Exchange Plans",
        (LineOfBusiness.EXCHANGE,),
        "800-555-0105",
        "SMTX1",
    ),
)

_PAYER_SHARE = {
    "northwind-health": 0.30,
    "cascade-mutual": 0.22,
    "gateway-medicare": 0.20,
    "showme-medicaid": 0.15,
    "summit-exchange": 0.13,
}
_PAYER_CHANNEL = {
    "northwind-health": "fhir-pas",
    "cascade-mutual": "x12-278",
    "gateway-medicare": "fhir-pas",
    "showme-medicaid": "portal",
    "summit-exchange": "x12-278",
}


def payer_actor(payer_id: str) -> Actor:
    """The actor a payer's decisions are recorded under: its integration."""
    return Actor(id=f"payer:{payer_id}", role=Role.INTEGRATION)


@dataclass(frozen=True)
class DemoUser:
    """A synthetic staff member of the demo organization."""

    id: str
    name: str
    email: str
    role: Role

    @property
    def actor(self) -> Actor:
        """The actor this user's actions are recorded under."""
        return Actor(id=self.id, role=self.role)


@dataclass(frozen=True)
class CategoryCalibration:
    """How the demo draws one service category: its share, value, clock and denial weight."""

    share: float
    amount_dollars: tuple[int, int]
    decision_unit: TimeUnit
    decision_time: tuple[int, int]
    denial_weight: float
    expedited_share: float


#: Standard-review decision times and amounts; see the module docstring for sources.
CATEGORY_CALIBRATION: Mapping[ServiceCategory, CategoryCalibration] = {
    ServiceCategory.ADVANCED_IMAGING: CategoryCalibration(
        0.33, (1_500, 5_000), TimeUnit.HOURS, (24, 48), 1.0, 0.02
    ),
    ServiceCategory.ELECTIVE_SURGERY: CategoryCalibration(
        0.15, (15_000, 50_000), TimeUnit.BUSINESS_DAYS, (3, 5), 0.9, 0.0
    ),
    ServiceCategory.SPECIALTY_DRUG: CategoryCalibration(
        0.15, (3_000, 25_000), TimeUnit.BUSINESS_DAYS, (5, 10), 1.6, 0.03
    ),
    ServiceCategory.DME: CategoryCalibration(
        0.10, (500, 5_000), TimeUnit.BUSINESS_DAYS, (3, 7), 1.3, 0.0
    ),
    ServiceCategory.BEHAVIORAL_HEALTH: CategoryCalibration(
        0.08, (2_000, 15_000), TimeUnit.BUSINESS_DAYS, (1, 3), 1.0, 0.15
    ),
    ServiceCategory.INPATIENT_ADMISSION: CategoryCalibration(
        0.07, (10_000, 40_000), TimeUnit.BUSINESS_DAYS, (1, 2), 0.6, 0.25
    ),
    ServiceCategory.OTHER: CategoryCalibration(
        0.12, (300, 3_000), TimeUnit.BUSINESS_DAYS, (2, 5), 0.8, 0.0
    ),
}
_CATEGORIES = tuple(CATEGORY_CALIBRATION)
_CATEGORY_WEIGHTS = tuple(CATEGORY_CALIBRATION[c].share for c in _CATEGORIES)
#: CMS-0057-F's expedited clock bounds the demo's expedited decisions.
_EXPEDITED_HOURS = (4, 71)
#: Calendar days from creating a request to its first date of service (our assumption).
_LEAD_DAYS: Mapping[ServiceCategory, tuple[int, int]] = {
    ServiceCategory.ADVANCED_IMAGING: (5, 21),
    ServiceCategory.ELECTIVE_SURGERY: (14, 45),
    ServiceCategory.SPECIALTY_DRUG: (7, 30),
    ServiceCategory.DME: (5, 21),
    ServiceCategory.BEHAVIORAL_HEALTH: (2, 10),
    ServiceCategory.INPATIENT_ADMISSION: (3, 14),
    ServiceCategory.OTHER: (5, 30),
}
#: Calendar days between a decision and the appeal filed against it (our assumption).
_APPEAL_FILING_DAYS = (5, 25)
#: How many levels an appeal climbs (our assumption); the outcome is decided at the last one.
_APPEAL_DEPTH_WEIGHTS = (0.55, 0.25, 0.12, 0.08)
#: What each level asks of the provider: the seed's "Required Actions" column.
_APPEAL_REASONS: Mapping[AppealLevel, str] = {
    AppealLevel.FIRST_LEVEL: "Additional documentation submitted",
    AppealLevel.PEER_TO_PEER: "Physician-to-physician discussion scheduled",
    AppealLevel.SECOND_LEVEL: "Comprehensive clinical rationale presented",
    AppealLevel.EXTERNAL_REVIEW: "Independent medical review requested",
}
_PLAN_NAMES: Mapping[LineOfBusiness, str] = {
    LineOfBusiness.COMMERCIAL: "PPO",
    LineOfBusiness.MEDICARE_ADVANTAGE: "HMO",
    LineOfBusiness.MEDICAID: "Managed Care",
    LineOfBusiness.EXCHANGE: "Silver",
}


@dataclass(frozen=True)
class _Procedure:
    """A code a category requests, where, for which diagnoses, and its usual units and span."""

    system: CodeSystem
    code: str
    place_of_service: str
    diagnoses: tuple[str, ...]
    units: tuple[int, int] = (1, 1)
    span_days: tuple[int, int] = (0, 0)
    servicing_taxonomy: str = "261Q00000X"  # clinic/center


_CPT, _HCPCS = CodeSystem.CPT, CodeSystem.HCPCS
_SPINE = ("M54.16", "M54.50", "M51.26", "M48.061", "M51.16", "M47.816")
_HEAD = ("G43.909", "R51.9", "G40.909", "I63.9", "G35.A")
_PROCEDURES: Mapping[ServiceCategory, tuple[_Procedure, ...]] = {
    ServiceCategory.ADVANCED_IMAGING: (
        _Procedure(_CPT, "70551", "22", _HEAD),
        _Procedure(_CPT, "70552", "22", _HEAD),
        _Procedure(_CPT, "70553", "22", _HEAD),
        _Procedure(_CPT, "72148", "11", _SPINE),
        _Procedure(_CPT, "73721", "11", ("M25.561", "M23.211", "S83.241A", "M17.11")),
        _Procedure(_CPT, "74177", "22", ("R10.9", "K57.32", "C18.9", "N20.0")),
        _Procedure(_CPT, "71250", "22", ("R91.1", "C34.90", "J84.10")),
        _Procedure(_CPT, "78815", "22", ("C34.90", "C50.911", "C18.9", "C20", "C61")),
    ),
    ServiceCategory.ELECTIVE_SURGERY: (
        _Procedure(_CPT, "27447", "22", ("M17.11", "M17.12", "M17.0"), span_days=(0, 2)),
        _Procedure(_CPT, "27130", "22", ("M16.11",), span_days=(0, 2)),
        _Procedure(_CPT, "29881", "24", ("M23.211", "S83.241A")),
        _Procedure(_CPT, "29827", "24", ("M75.121", "M75.101")),
        _Procedure(_CPT, "63030", "22", ("M51.16", "M51.26", "M48.061", "M48.062")),
        _Procedure(_CPT, "47562", "24", ("K80.20",)),
        _Procedure(_CPT, "43775", "22", ("E66.01",), span_days=(0, 2)),
    ),
    ServiceCategory.SPECIALTY_DRUG: (
        _Procedure(_HCPCS, "J0129", "11", ("M05.79", "M06.9"), (50, 100), (0, 180)),
        _Procedure(_HCPCS, "J1745", "19", ("K50.90", "K51.90", "M05.79", "L40.0"), (30, 100)),
        _Procedure(_HCPCS, "J2350", "19", ("G35.A",), (300, 600), (0, 180)),
        _Procedure(_HCPCS, "J9035", "19", ("C18.9", "C20", "C34.90"), (40, 100), (0, 120)),
        _Procedure(_HCPCS, "J2357", "11", ("J45.50",), (2, 6), (0, 180)),
        _Procedure(_HCPCS, "J0897", "11", ("M81.0",), (60, 60), (0, 180)),
        _Procedure(_HCPCS, "J3380", "19", ("K51.90", "K50.90"), (30, 30), (0, 120)),
    ),
    ServiceCategory.DME: (
        _Procedure(
            _HCPCS, "E0601", "12", ("G47.33",), span_days=(0, 90), servicing_taxonomy="332B00000X"
        ),
        _Procedure(
            _HCPCS,
            "K0823",
            "12",
            ("G12.21", "G80.9", "I69.351", "G20.A1"),
            servicing_taxonomy="332B00000X",
        ),
        _Procedure(
            _HCPCS, "L1832", "12", ("M17.11", "M17.12", "S83.241A"), servicing_taxonomy="332B00000X"
        ),
        _Procedure(
            _HCPCS,
            "E1390",
            "12",
            ("J44.9", "J96.11", "J84.10", "J43.9"),
            span_days=(0, 90),
            servicing_taxonomy="332B00000X",
        ),
        _Procedure(
            _HCPCS,
            "E0260",
            "12",
            ("G12.21", "I50.22", "G20.A1"),
            span_days=(0, 90),
            servicing_taxonomy="332B00000X",
        ),
    ),
    ServiceCategory.BEHAVIORAL_HEALTH: (
        _Procedure(_HCPCS, "S9480", "11", ("F32.2", "F33.1", "F33.2", "F31.4"), (10, 20), (13, 27)),
        _Procedure(_HCPCS, "H0015", "57", ("F10.20", "F11.20"), (12, 24), (20, 41)),
        _Procedure(_HCPCS, "H0018", "55", ("F10.20", "F11.20"), (14, 28), (13, 27)),
        _Procedure(_HCPCS, "H0019", "55", ("F10.20", "F11.20", "F31.9"), (30, 60), (29, 59)),
        _Procedure(_HCPCS, "H2036", "57", ("F11.20", "F10.20"), (10, 20), (13, 27)),
        _Procedure(_CPT, "90867", "11", ("F33.2", "F32.2"), (1, 1)),
    ),
    ServiceCategory.INPATIENT_ADMISSION: (
        _Procedure(
            _CPT,
            "99222",
            "21",
            ("J18.9", "I50.9", "N17.9", "K85.90"),
            span_days=(2, 6),
            servicing_taxonomy="282N00000X",
        ),
        _Procedure(
            _CPT,
            "99223",
            "21",
            ("I21.4", "A41.9", "I63.9", "I50.22"),
            span_days=(3, 8),
            servicing_taxonomy="282N00000X",
        ),
    ),
    ServiceCategory.OTHER: (
        _Procedure(_CPT, "95810", "11", ("G47.33",)),
        _Procedure(_CPT, "81162", "11", ("Z80.3", "Z15.01", "C50.911")),
        _Procedure(_CPT, "97110", "11", ("M54.50", "M25.561", "M17.11"), (8, 24), (20, 60)),
        _Procedure(_CPT, "64483", "22", ("M54.16", "M51.16", "M48.061")),
        _Procedure(_CPT, "92507", "11", ("R13.10", "I69.351"), (8, 16), (20, 60)),
    ),
}

#: Ordering-physician taxonomy per category (NUCC codes).
_ORDERING_TAXONOMY: Mapping[ServiceCategory, str] = {
    ServiceCategory.ADVANCED_IMAGING: "207Q00000X",  # family medicine
    ServiceCategory.ELECTIVE_SURGERY: "207X00000X",  # orthopaedic surgery
    ServiceCategory.SPECIALTY_DRUG: "207RR0500X",  # rheumatology
    ServiceCategory.DME: "207RP1001X",  # pulmonary disease
    ServiceCategory.BEHAVIORAL_HEALTH: "2084P0800X",  # psychiatry
    ServiceCategory.INPATIENT_ADMISSION: "207R00000X",  # internal medicine
    ServiceCategory.OTHER: "207Q00000X",
}
_FACILITY_KIND: Mapping[ServiceCategory, str] = {
    ServiceCategory.ADVANCED_IMAGING: "Imaging Center",
    ServiceCategory.ELECTIVE_SURGERY: "Surgery Center",
    ServiceCategory.SPECIALTY_DRUG: "Infusion Center",
    ServiceCategory.DME: "Medical Supply",
    ServiceCategory.BEHAVIORAL_HEALTH: "Behavioral Health",
    ServiceCategory.INPATIENT_ADMISSION: "Regional Hospital",
    ServiceCategory.OTHER: "Clinic",
}

_DENIAL_REASONS: tuple[tuple[str, str], ...] = (
    ("medical_necessity", "Medical necessity criteria not met for the requested service."),
    ("documentation", "Clinical documentation does not support the request; notes missing."),
    ("step_therapy", "Step therapy not documented: preferred alternatives not tried first."),
    ("conservative_tx", "Six weeks of conservative therapy not documented."),
    ("not_covered", "The service is not a covered benefit under the member's plan."),
    ("out_of_network", "The servicing provider is out of network for this plan."),
)
_PEND_REASON = ("more_information", "Additional clinical documentation requested.")
_REJECTIONS: tuple[tuple[str, str], ...] = (
    ("75", "Subscriber/insured not found"),
    ("15", "Required application data missing"),
    ("57", "Invalid/missing date(s) of service"),
)
_CANCEL_REASONS = (
    "Service cancelled by the patient",
    "Duplicate request",
    "Patient changed coverage",
    "Ordering physician withdrew the order",
)


@dataclass(frozen=True)
class DemoDataSet:
    """The demo organization's payers, coordinators and request histories.

    ``requests`` is ordered by creation time; each entry pairs the request in
    its final state with its events in the order they happened.
    """

    organization_id: str
    payers: tuple[DemoPayer, ...]
    coordinators: tuple[DemoUser, ...]
    requests: list[tuple[AuthorizationRequest, list[DomainEvent]]] = field(repr=False)


def _verified_diagnoses() -> frozenset[str]:
    """Every diagnosis the demo uses, checked against the ICD-10-CM code set once, at import."""
    codes = {dx for procs in _PROCEDURES.values() for p in procs for dx in p.diagnoses}
    for code in codes:
        if check_icd10cm(code) != code:
            raise ValueError(f"demo diagnosis {code} is not in billable dotted form")
    return frozenset(codes)


DEMO_DIAGNOSES = _verified_diagnoses()


@dataclass
class _Member:
    """A synthetic patient with the coverage all their requests go under."""

    patient: Patient
    coverage: Coverage
    payer: DemoPayer


@dataclass
class _Plan:
    """One request's drawn facts and timeline; outcomes are assigned once all are drawn."""

    id: str
    category: ServiceCategory
    member: _Member
    urgency: Urgency
    lines: int
    service_start: date
    created_at: datetime
    ready_at: datetime
    submitted_at: datetime
    rejected_at: datetime | None
    resubmitted_at: datetime | None
    pended_at: datetime | None
    decided_at: datetime
    unused: bool
    cancel_at: datetime | None
    outcome: Decision = Decision.APPROVED
    partial: bool = False
    appeal_levels: tuple[tuple[AppealLevel, datetime, datetime], ...] = ()
    overturned: bool = False


def generate_demo(
    *, seed: int = 7, size: int = 5000, now: datetime, organization_id: str
) -> DemoDataSet:
    """Build the demo data set: ``size`` requests created in the 12 months before ``now``.

    Deterministic: the same arguments give the same data set, ids included.
    ``now`` must be timezone-aware; no step of any request happens after it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    return _Generator(seed, now, organization_id).run(size)


class _Generator:
    """Holds the seeded random sources and the pools requests draw from."""

    def __init__(self, seed: int, now: datetime, organization_id: str) -> None:
        # Seeded, reproducible synthetic data; no security property is wanted here.
        self.rng = random.Random(seed)  # noqa: S311
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.now = now.astimezone(UTC)
        self.organization_id = organization_id
        self.coordinators = tuple(self._user(i) for i in range(6))
        self.npis: set[str] = set()
        self.ordering = {c: [self._physician(c) for _ in range(8)] for c in ServiceCategory}
        self.facilities = {c: [self._facility(c) for _ in range(3)] for c in ServiceCategory}
        self.templates = {
            (c, p.code): self._template(p) for c, procs in _PROCEDURES.items() for p in procs
        }
        self.members: list[_Member] = []

    # --- pools ------------------------------------------------------------------------

    def _user(self, i: int) -> DemoUser:
        first, last = self.fake.first_name(), self.fake.last_name()
        return DemoUser(
            id=f"demo-coordinator-{i + 1}",
            name=f"{first} {last}",
            email=f"{first}.{last}@demo.example".lower(),
            role=Role.COORDINATOR,
        )

    def _npi(self) -> str:
        while True:
            first_nine = "1" + "".join(self.rng.choices("0123456789", k=8))
            npi = first_nine + npi_check_digit(first_nine)
            if npi not in self.npis:
                self.npis.add(npi)
                return npi

    def _physician(self, category: ServiceCategory) -> Provider:
        return Provider(
            npi=self._npi(),
            name=f"{self.fake.first_name()} {self.fake.last_name()}, MD",
            kind="individual",
            taxonomy=_ORDERING_TAXONOMY[category],
        )

    def _facility(self, category: ServiceCategory) -> Provider:
        taxonomy = _PROCEDURES[category][0].servicing_taxonomy
        return Provider(
            npi=self._npi(),
            name=f"{self.fake.last_name()} {_FACILITY_KIND[category]}",
            kind="organization",
            taxonomy=taxonomy,
        )

    def _template(self, procedure: _Procedure) -> ServiceLine:
        # Validated once; requests copy it with their own dates, units and amount.
        return ServiceLine(
            code_system=procedure.system,
            code=procedure.code,
            units=Decimal(procedure.units[0]),
            service_start=date(2000, 1, 1),
            service_end=date(2000, 1, 1),
            place_of_service=procedure.place_of_service,
            diagnoses=(procedure.diagnoses[0],),
        )

    def _member(self) -> _Member:
        rng, fake = self.rng, self.fake
        payer = rng.choices(DEMO_PAYERS, weights=[_PAYER_SHARE[p.id] for p in DEMO_PAYERS])[0]
        lob = rng.choice(payer.lines_of_business)
        age = (
            rng.randint(65, 92) if lob is LineOfBusiness.MEDICARE_ADVANTAGE else rng.randint(1, 64)
        )
        sex = Sex.FEMALE if rng.random() < 0.52 else Sex.MALE
        given = fake.first_name_female() if sex is Sex.FEMALE else fake.first_name_male()
        birth = self.now.date() - timedelta(days=age * 365 + rng.randint(0, 364))
        member_id = f"DM{payer.x12_payer_id[:3]}{rng.randint(0, 10**9 - 1):09d}"
        n = len(self.members) + 1
        patient = Patient(
            id=f"DEMO-MRN-{n:06d}",
            given_name=given,
            family_name=fake.last_name(),
            birth_date=birth,
            sex=sex,
            member_id=member_id,
        )
        coverage = Coverage(
            payer_id=payer.id,
            plan=f"{payer.name} {_PLAN_NAMES[lob]}",
            line_of_business=lob,
            member_id=member_id,
            group_number=f"G{rng.randint(10000, 99999)}"
            if lob is LineOfBusiness.COMMERCIAL
            else None,
            state=DEMO_STATE,
            effective_from=date(self.now.year - 2, 1, 1),
        )
        return _Member(patient, coverage, payer)

    # --- the plan ---------------------------------------------------------------------

    def run(self, size: int) -> DemoDataSet:
        """Draw every plan, assign the calibrated outcomes, then walk each request."""
        plans = [self._plan(size) for _ in range(size)]
        self._assign_outcomes(plans)
        requests = [self._walk(plan) for plan in plans]
        requests.sort(key=lambda pair: pair[0].created_at)
        return DemoDataSet(self.organization_id, DEMO_PAYERS, self.coordinators, requests)

    def _plan(self, size: int) -> _Plan:
        rng = self.rng
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        category = rng.choices(_CATEGORIES, weights=_CATEGORY_WEIGHTS)[0]
        calibration = CATEGORY_CALIBRATION[category]
        # Returning patients grow to about one request in four as the pool fills.
        if self.members and rng.random() < 0.25 * min(1.0, len(self.members) / (0.5 * size)):
            member = rng.choice(self.members)
        else:
            member = self._member()
            self.members.append(member)
        expedited = rng.random() < calibration.expedited_share
        urgency = Urgency.EXPEDITED if expedited else Urgency.STANDARD
        created = self._creation_moment()
        ready = created + timedelta(minutes=rng.randint(5, 240))
        if rng.random() < _SLOW_PREPARATION_SHARE:
            # Waiting for clinical notes: ready only one to three business days later.
            days = rng.randint(1, 3)
            ready = self._working_moment_on(
                add_business_days(_local_day(created), days, DEMO_STATE)
            )
        submitted = ready + timedelta(minutes=rng.randint(2, 180))
        rejected_at = resubmitted_at = None
        if rng.random() < _REJECTED_SUBMISSION_SHARE:
            rejected_at = submitted + timedelta(minutes=rng.randint(1, 60))
            resubmitted_at = self._working_moment_on(
                add_business_days(_local_day(rejected_at), 1, DEMO_STATE)
            )
        last_submission = resubmitted_at or submitted
        decided = self._decision_moment(last_submission, calibration, urgency)
        pended_at = None
        if rng.random() < _PENDED_SHARE:
            pended_at = last_submission + (decided - last_submission) * rng.uniform(0.2, 0.5)
        low, high = (1, 3) if expedited else _LEAD_DAYS[category]
        service_start = _local_day(created) + timedelta(days=rng.randint(low, high))
        cancel_at = None
        if rng.random() < _CANCELLED_SHARE:
            horizon = decided + timedelta(days=30)
            cancel_at = created + (horizon - created) * rng.uniform(0.02, 1.0)
        return _Plan(
            id=request_id,
            category=category,
            member=member,
            urgency=urgency,
            lines=2 if rng.random() < _SECOND_LINE_SHARE else 1,
            service_start=service_start,
            created_at=created,
            ready_at=ready,
            submitted_at=submitted,
            rejected_at=rejected_at,
            resubmitted_at=resubmitted_at,
            pended_at=pended_at,
            decided_at=decided,
            unused=rng.random() < _UNUSED_SHARE_OF_APPROVALS,
            cancel_at=cancel_at,
        )

    def _working_moment(self, moment: datetime) -> datetime:
        """A working hour on ``moment``'s local day, moved back to the last business day."""
        day = _local_day(moment)
        while not is_business_day(day, DEMO_STATE):
            day -= timedelta(days=1)
        return self._working_moment_on(day)

    def _creation_moment(self) -> datetime:
        """When a request was opened: a working hour within the 12 months before ``now``."""
        earliest = self.now - timedelta(days=365)
        while True:
            moment = self._working_moment(self.now - timedelta(days=self.rng.uniform(0.0, 365)))
            # Redraw when today's hour is still ahead or a weekend pushed it out of the year.
            if earliest <= moment <= self.now:
                return moment

    def _working_moment_on(self, day: date) -> datetime:
        minute = self.rng.randint(7 * 60 + 30, 16 * 60 + 30)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=DEMO_TIMEZONE)
        return local.astimezone(UTC)

    def _decision_moment(
        self, submitted: datetime, calibration: CategoryCalibration, urgency: Urgency
    ) -> datetime:
        rng = self.rng
        if urgency is Urgency.EXPEDITED:
            return submitted + timedelta(hours=rng.uniform(*_EXPEDITED_HOURS))
        low, high = calibration.decision_time
        if calibration.decision_unit is TimeUnit.HOURS:
            # Payers' automated reviews answer at any hour: elapsed hours, not working ones.
            return submitted + timedelta(hours=rng.uniform(low, high))
        day = add_business_days(_local_day(submitted), rng.randint(low, high), DEMO_STATE)
        return self._working_moment_on(day)

    # --- outcomes ---------------------------------------------------------------------

    def _assign_outcomes(self, plans: list[_Plan]) -> None:
        """Deny, appeal and overturn by quota so the KFF shares hold exactly."""
        rng = self.rng
        decided = [
            p
            for p in plans
            if p.decided_at <= self.now and (p.cancel_at is None or p.cancel_at > p.decided_at)
        ]
        # Weighted sampling without replacement (Efraimidis-Spirakis keys).
        keyed = sorted(
            decided,
            key=lambda p: rng.random() ** (1 / CATEGORY_CALIBRATION[p.category].denial_weight),
            reverse=True,
        )
        denied = keyed[: round(DENIAL_SHARE * len(decided))]
        for plan in denied:
            plan.outcome = Decision.DENIED
            plan.partial = plan.lines > 1 and rng.random() < 0.5
        for plan in keyed[len(denied) :]:
            if rng.random() < _MODIFIED_SHARE_OF_APPROVALS:
                plan.outcome = Decision.MODIFIED
        # Only denials old enough to have been appealed, and not withdrawn, can be.
        appealable = [
            p
            for p in denied
            if p.cancel_at is None
            and p.decided_at + timedelta(days=_APPEAL_FILING_DAYS[1] + 1) <= self.now
        ]
        wanted = min(len(appealable), round(DENIALS_APPEALED_SHARE * len(denied)))
        appealed = rng.sample(appealable, wanted)
        for plan in appealed:
            plan.appeal_levels = self._appeal_timeline(plan.decided_at)
        # The share is what an observer at ``now`` reads: overturned among appeals whose
        # latest step is a decision. Those upheld at a level with the next one not yet
        # filed read as upheld, so the quota counts them but only finished appeals overturn.
        finished = [p for p in appealed if p.appeal_levels[-1][2] <= self.now]
        between_levels = [
            p
            for p in appealed
            if p.appeal_levels[-1][2] > self.now
            and p.appeal_levels[0][2] <= self.now
            and not any(filed <= self.now < decided for _, filed, decided in p.appeal_levels)
        ]
        wanted = round(OVERTURNED_SHARE * (len(finished) + len(between_levels)))
        for plan in rng.sample(finished, min(len(finished), wanted)):
            plan.overturned = True

    def _appeal_timeline(
        self, denied_at: datetime
    ) -> tuple[tuple[AppealLevel, datetime, datetime], ...]:
        """The levels an appeal climbs, each with when it is filed and when it is decided."""
        rng = self.rng
        depth = rng.choices(range(1, len(APPEAL_ORDER) + 1), weights=_APPEAL_DEPTH_WEIGHTS)[0]
        timeline = []
        previous = denied_at
        for level in APPEAL_ORDER[:depth]:
            filed = self._working_moment(
                previous + timedelta(days=rng.randint(*_APPEAL_FILING_DAYS))
            )
            low, high = SEED_APPEAL_DEFAULTS[level].decision_days
            decided = self._working_moment(filed + timedelta(days=rng.randint(low, high)))
            timeline.append((level, filed, decided))
            previous = decided
        return tuple(timeline)

    # --- the walk ---------------------------------------------------------------------

    def _walk(self, plan: _Plan) -> tuple[AuthorizationRequest, list[DomainEvent]]:
        rng = self.rng
        coordinator = rng.choice(self.coordinators).actor
        payer = plan.member.payer
        integration = payer_actor(payer.id)
        channel = _PAYER_CHANNEL[payer.id]
        request = AuthorizationRequest.open(
            actor=coordinator,
            at=plan.created_at,
            id=plan.id,
            organization_id=self.organization_id,
            patient=plan.member.patient,
            coverage=plan.member.coverage,
            requesting_provider=rng.choice(self.ordering[plan.category]),
            servicing_provider=rng.choice(self.facilities[plan.category]),
            service_lines=self._lines(plan),
            urgency=plan.urgency,
            category=plan.category,
        )
        steps: list[tuple[datetime, Callable[[], object]]] = [
            (plan.ready_at, partial(request.mark_ready, coordinator, plan.ready_at)),
            (
                plan.submitted_at,
                partial(
                    request.submit,
                    coordinator,
                    plan.submitted_at,
                    channel=channel,
                    attempt_key=f"{plan.id}:1",
                ),
            ),
        ]
        if plan.rejected_at and plan.resubmitted_at:
            code, reason = rng.choice(_REJECTIONS)
            steps += [
                (
                    plan.rejected_at,
                    partial(
                        request.reject_submission,
                        integration,
                        plan.rejected_at,
                        reason=reason,
                        code=code,
                    ),
                ),
                (
                    plan.resubmitted_at,
                    partial(
                        request.submit,
                        coordinator,
                        plan.resubmitted_at,
                        channel=channel,
                        attempt_key=f"{plan.id}:2",
                    ),
                ),
            ]
        reference = f"{payer.x12_payer_id}{rng.randint(0, 10**10 - 1):010d}"
        if plan.pended_at:
            pend = LineDetermination(
                decision=Decision.PENDED,
                reason_code=_PEND_REASON[0],
                reason_text=_PEND_REASON[1],
                x12_action="A4",
            )
            attached_at = plan.pended_at + (plan.decided_at - plan.pended_at) / 2
            steps += [
                (
                    plan.pended_at,
                    partial(
                        request.record_determination,
                        integration,
                        plan.pended_at,
                        dict.fromkeys(range(plan.lines), pend),
                        payer_reference=reference,
                    ),
                ),
                (
                    attached_at,
                    partial(
                        request.record_note,
                        coordinator,
                        attached_at,
                        "authorization.documentation_attached",
                        document="clinical notes",
                        pages=rng.randint(2, 30),
                    ),
                ),
            ]
        decisions, valid_to = self._decisions(plan, request.service_lines, reference)
        steps.append(
            (
                plan.decided_at,
                partial(
                    request.record_determination,
                    integration,
                    plan.decided_at,
                    decisions,
                    payer_reference=reference,
                ),
            )
        )
        if plan.appeal_levels:
            steps += self._appeal_steps(plan, request, coordinator, integration)
        elif plan.unused and (plan.outcome is not Decision.DENIED or plan.partial):
            expires_at = datetime.combine(
                valid_to + timedelta(days=1), time(1, 0), tzinfo=DEMO_TIMEZONE
            ).astimezone(UTC)
            steps.append((expires_at, partial(request.expire, EXPIRY_ACTOR, expires_at)))
        cutoff = self.now if plan.cancel_at is None else min(self.now, plan.cancel_at)
        for at, step in steps:
            if at > cutoff:
                break
            step()
        if plan.cancel_at is not None and plan.cancel_at <= self.now and request.allowed_moves:
            request.cancel(coordinator, plan.cancel_at, rng.choice(_CANCEL_REASONS))
        return request, request.drain_events()

    def _lines(self, plan: _Plan) -> tuple[ServiceLine, ...]:
        rng = self.rng
        procedures = rng.sample(_PROCEDURES[plan.category], plan.lines)
        low, high = CATEGORY_CALIBRATION[plan.category].amount_dollars
        total = rng.randint(low, high)
        # A second line carries the smaller share of the request's value.
        shares = (1.0,) if plan.lines == 1 else (0.65, 0.35)
        lines = []
        for procedure, share in zip(procedures, shares, strict=True):
            diagnoses = tuple(
                rng.sample(
                    procedure.diagnoses, min(len(procedure.diagnoses), rng.choice((1, 1, 2)))
                )
            )
            span = rng.randint(*procedure.span_days)
            amount = Decimal(total * share).quantize(Decimal("0.01"), ROUND_HALF_UP)
            lines.append(
                self.templates[plan.category, procedure.code].model_copy(
                    update={
                        "units": Decimal(rng.randint(*procedure.units)),
                        "service_start": plan.service_start,
                        "service_end": plan.service_start + timedelta(days=span),
                        "diagnoses": diagnoses,
                        "estimated_amount": amount,
                    }
                )
            )
        return tuple(lines)

    def _decisions(
        self, plan: _Plan, lines: tuple[ServiceLine, ...], reference: str
    ) -> tuple[dict[int, LineDetermination], date]:
        """The payer's per-line answer for the plan's outcome, and the approval's last valid day."""
        rng = self.rng
        decided_day = _local_day(plan.decided_at)
        start = max(plan.service_start, decided_day)
        if plan.unused:
            valid_to = start + timedelta(days=rng.randint(30, 60))
        else:
            last_end = max(line.service_end for line in lines)
            valid_to = max(last_end, start + timedelta(days=rng.randint(30, 90)))
        certification = f"{reference[:2]}{rng.randint(10**7, 10**8 - 1)}"
        approved = LineDetermination(
            decision=Decision.APPROVED,
            certification_number=certification,
            valid_from=decided_day,
            valid_to=valid_to,
            x12_action="A1",
        )
        code, text = rng.choice(_denial_reasons(plan.category))
        denied = LineDetermination(
            decision=Decision.DENIED, reason_code=code, reason_text=text, x12_action="A3"
        )
        decisions: dict[int, LineDetermination] = {}
        for i, line in enumerate(lines):
            if plan.outcome is Decision.DENIED and (not plan.partial or i == len(lines) - 1):
                decisions[i] = denied
            elif plan.outcome is Decision.MODIFIED and i == 0:
                units = max(Decimal(1), (line.units * Decimal("0.6")).to_integral_value())
                decisions[i] = approved.model_copy(
                    update={
                        "decision": Decision.MODIFIED,
                        "authorized_units": units,
                        "reason_text": "Approved with fewer units than requested.",
                        "x12_action": "A6",
                    }
                )
            else:
                decisions[i] = approved.model_copy(update={"authorized_units": line.units})
        return decisions, valid_to

    def _appeal_steps(
        self, plan: _Plan, request: AuthorizationRequest, coordinator: Actor, integration: Actor
    ) -> list[tuple[datetime, Callable[[], object]]]:
        """Climb the planned levels in order; only the last may overturn the denial."""
        steps: list[tuple[datetime, Callable[[], object]]] = []
        last = len(plan.appeal_levels) - 1
        for n, (level, filed, decided) in enumerate(plan.appeal_levels):
            overturned = plan.overturned and n == last
            note = "Denial overturned" if overturned else "Denial upheld"
            reason = _APPEAL_REASONS[level]
            steps += [
                (filed, partial(request.appeal, coordinator, filed, level, reason=reason)),
                (
                    decided,
                    partial(
                        request.record_appeal_outcome,
                        integration,
                        decided,
                        overturned=overturned,
                        note=note,
                    ),
                ),
            ]
        return steps


def _denial_reasons(category: ServiceCategory) -> tuple[tuple[str, str], ...]:
    """Denial reasons that make sense for ``category``: step therapy is a drug rule, and so on."""
    drug = category is ServiceCategory.SPECIALTY_DRUG
    conservative = category in (
        ServiceCategory.ADVANCED_IMAGING,
        ServiceCategory.ELECTIVE_SURGERY,
        ServiceCategory.OTHER,
    )
    return tuple(
        reason
        for reason in _DENIAL_REASONS
        if (reason[0] != "step_therapy" or drug)
        and (reason[0] != "conservative_tx" or conservative)
    )


def _local_day(moment: datetime) -> date:
    return moment.astimezone(DEMO_TIMEZONE).date()
