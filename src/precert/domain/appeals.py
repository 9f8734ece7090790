"""Appeal levels, in the order a denial climbs them, with the seed's published defaults.

Defaults come from the source document's denial-management table (first level
30-60 days and 30-40% success; peer review 15-30 days, 40-50%; second level
30-60 days, 20-30%; external review 60-90 days, 30-40%). Payer packs may
override the windows; the organization's own history may override the rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum


class AppealLevel(StrEnum):
    """The levels of appeal, in escalation order."""

    FIRST_LEVEL = "first_level"
    PEER_TO_PEER = "peer_to_peer"
    SECOND_LEVEL = "second_level"
    EXTERNAL_REVIEW = "external_review"


APPEAL_ORDER: tuple[AppealLevel, ...] = tuple(AppealLevel)


@dataclass(frozen=True)
class AppealLevelDefaults:
    """Published timeframe and success-rate ranges for one appeal level."""

    decision_days: tuple[int, int]
    success_rate: tuple[Decimal, Decimal]

    @property
    def expected_success_rate(self) -> Decimal:
        """Midpoint of the published range, used when the organization lacks its own history."""
        low, high = self.success_rate
        return (low + high) / 2


SEED_APPEAL_DEFAULTS: dict[AppealLevel, AppealLevelDefaults] = {
    AppealLevel.FIRST_LEVEL: AppealLevelDefaults((30, 60), (Decimal("0.30"), Decimal("0.40"))),
    AppealLevel.PEER_TO_PEER: AppealLevelDefaults((15, 30), (Decimal("0.40"), Decimal("0.50"))),
    AppealLevel.SECOND_LEVEL: AppealLevelDefaults((30, 60), (Decimal("0.20"), Decimal("0.30"))),
    AppealLevel.EXTERNAL_REVIEW: AppealLevelDefaults((60, 90), (Decimal("0.30"), Decimal("0.40"))),
}


def next_appeal_levels(attempted: tuple[AppealLevel, ...]) -> tuple[AppealLevel, ...]:
    """Levels still open after the ones already attempted: any later level may be chosen."""
    if not attempted:
        return APPEAL_ORDER
    last = max(APPEAL_ORDER.index(level) for level in attempted)
    return APPEAL_ORDER[last + 1 :]


#: Days a provider has to file each level after the decision it contests. Payers set their
#: own; 60 days is the common floor (e.g. Medicare Advantage reconsiderations allow 65), so
#: we default to 60 and let a payer's pack override it.
DEFAULT_FILING_DAYS = 60

#: Decided appeals at one level an organization needs before its own rate replaces the seed's.
OWN_HISTORY_MINIMUM = 20


@dataclass(frozen=True)
class AppealTerms:
    """How long a level gives to file and how long the payer takes to decide it."""

    filing_days: int
    decision_days: int


def default_terms(level: AppealLevel) -> AppealTerms:
    """Filing window and the upper end of the seed's decision window for ``level``."""
    return AppealTerms(DEFAULT_FILING_DAYS, SEED_APPEAL_DEFAULTS[level].decision_days[1])


@dataclass(frozen=True)
class OverturnEstimate:
    """The chance an appeal at a level succeeds, and where the figure comes from."""

    probability: Decimal
    source: str  # "organization history (n=…)" or "published rates (seed)"


def overturn_probability(
    level: AppealLevel, history: Sequence[tuple[AppealLevel, bool]]
) -> OverturnEstimate:
    """The organization's own overturn rate at ``level`` when it has enough decided appeals,
    otherwise the midpoint of the published range."""
    outcomes = [overturned for lvl, overturned in history if lvl is level]
    if len(outcomes) >= OWN_HISTORY_MINIMUM:
        rate = Decimal(sum(outcomes)) / Decimal(len(outcomes))
        return OverturnEstimate(
            rate.quantize(Decimal("0.001")), f"organization history (n={len(outcomes)})"
        )
    return OverturnEstimate(
        SEED_APPEAL_DEFAULTS[level].expected_success_rate, "published rates (seed)"
    )


#: Staff effort per level, in minutes, when the organization has not measured its own.
DEFAULT_STAFF_MINUTES: dict[AppealLevel, int] = {
    AppealLevel.FIRST_LEVEL: 90,
    AppealLevel.PEER_TO_PEER: 60,  # includes the physician's time on the call
    AppealLevel.SECOND_LEVEL: 150,
    AppealLevel.EXTERNAL_REVIEW: 240,
}


@dataclass(frozen=True)
class AppealAssessment:
    """Whether appealing at a level is worth it, with the figures that say so."""

    level: AppealLevel
    file_by: date
    decision_expected_by: date
    probability: Decimal
    probability_source: str
    amount_at_stake: Decimal
    staff_cost: Decimal
    expected_value: Decimal

    @property
    def worth_appealing(self) -> bool:
        """Positive expected value: the chance-weighted recovery exceeds the staff cost."""
        return self.expected_value > 0


def assess_appeal(
    level: AppealLevel,
    *,
    decided_on: date,
    amount_at_stake: Decimal,
    history: Sequence[tuple[AppealLevel, bool]],
    staff_cost_per_hour: Decimal,
    terms: AppealTerms | None = None,
    staff_minutes: int | None = None,
) -> AppealAssessment:
    """Expected value of appealing at ``level``: P(overturn) x amount - staff cost."""
    terms = terms or default_terms(level)
    estimate = overturn_probability(level, history)
    minutes = DEFAULT_STAFF_MINUTES[level] if staff_minutes is None else staff_minutes
    staff_cost = (staff_cost_per_hour * minutes / 60).quantize(Decimal("0.01"))
    file_by = decided_on + timedelta(days=terms.filing_days)
    return AppealAssessment(
        level=level,
        file_by=file_by,
        decision_expected_by=file_by + timedelta(days=terms.decision_days),
        probability=estimate.probability,
        probability_source=estimate.source,
        amount_at_stake=amount_at_stake,
        staff_cost=staff_cost,
        expected_value=(estimate.probability * amount_at_stake - staff_cost).quantize(
            Decimal("0.01")
        ),
    )


@dataclass(frozen=True)
class PolicyCitation:
    """The payer's own rule an appeal quotes back to it."""

    rule_id: str
    description: str
    source: str | None


@dataclass(frozen=True)
class DeniedService:
    """One denied (or modified) line as the letter presents it."""

    code_system: str
    code: str
    units: str
    service_dates: str
    diagnoses: tuple[str, ...]  # "M54.50 Low back pain, unspecified"
    reason_code: str | None
    reason_text: str | None
    citation: PolicyCitation | None


@dataclass(frozen=True)
class AppealLetter:
    """Everything an appeal letter says; rendering it to PDF is an adapter's job."""

    written_on: date
    level: AppealLevel
    payer_name: str
    payer_reference: str | None
    authorization_id: str
    patient_name: str
    patient_birth_date: date
    member_id: str
    requesting_provider: str
    requesting_npi: str
    services: tuple[DeniedService, ...]
    clinical_rationale: str
    enclosures: tuple[str, ...]
    file_by: date

    @property
    def level_title(self) -> str:
        """The level as a heading ("Request for first-level appeal")."""
        return {
            AppealLevel.FIRST_LEVEL: "Request for first-level appeal",
            AppealLevel.PEER_TO_PEER: "Request for peer-to-peer review",
            AppealLevel.SECOND_LEVEL: "Request for second-level appeal",
            AppealLevel.EXTERNAL_REVIEW: "Request for external (independent) review",
        }[self.level]
