"""How the sandbox payer decides each Claim item: by scenario, or with the policy packs.

Decisions are made from the parsed ``PasClaimRequest`` (not the domain aggregate),
because real senders' codes need not pass precert's own rules: the fixture corpus
uses X12 service type codes instead of procedure codes. Each pended item gets its
later decision up front, so a scenario plays out the same way every time.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from precert.domain.authorization import Decision, LineDetermination, LineOfBusiness, Sex
from precert.domain.codes import CodeSystem
from precert.interop.fhir.common import as_dict, as_list, as_str, concept
from precert.interop.fhir.pas import ClaimItem, PasClaimRequest
from precert.interop.fhir.pas import vocabulary as v
from precert.interop.fhir.pas.rules import BundleIndex, Entry
from precert.policy import LineFacts, PolicyEngine
from precert.policy.criteria import assess
from precert.policy.model import Covered, Determination, Setting
from precert.sandbox.scenarios import Mode, Scenario

#: X12 886 (HCR03) reasons the sandbox uses; only codes established from public material.
REASON_INFO_REQUIRED = "0U"
REASON_INFO_NOT_RECEIVED = "0V"

#: Practitioners holding the sandbox payers' gold cards: NPI -> (identifier system, program).
GOLD_CARDS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "1588667638": (
        ("https://northwind-health.example/gold-card", "imaging"),
        ("https://northwind-health.example/gold-card", "orthopedics"),
        ("https://cascade-mutual.example/gold-card", "imaging"),
    ),
}


@dataclass(frozen=True)
class Adjudication:
    """The answer now (by Claim item sequence), the later decisions of pended items, cancels."""

    now: dict[int, LineDetermination]
    later: dict[int, LineDetermination] = field(default_factory=dict)
    cancelled: tuple[int, ...] = ()

    @property
    def pended(self) -> bool:
        """Whether some item waits for a later decision."""
        return bool(self.later)


def certification_number(key: str, sequence: int) -> str:
    """A stable certification number for one item of one submission."""
    return "SBX" + hashlib.sha256(f"{key}/{sequence}".encode()).hexdigest()[:10].upper()


def adjudicate(
    claim: PasClaimRequest,
    bundle: Mapping[str, Any],
    scenario: Scenario,
    engine: PolicyEngine,
    *,
    key: str,
    today: date,
    gold_cards: Mapping[str, tuple[tuple[str, str], ...]] = GOLD_CARDS,
) -> Adjudication:
    """Decide every item of ``claim`` under ``scenario``."""
    result = Adjudication(now={})
    cancelled: list[int] = []
    view = _EvaluationView(bundle, gold_cards)
    for position, item in enumerate(claim.items, start=1):
        sequence = item.sequence or position
        if item.cancelled or item.certification_type == "3":
            cancelled.append(sequence)
            continue
        decide = _Decider(claim, item, sequence, key, today)
        match scenario.mode:
            case Mode.APPROVE:
                result.now[sequence] = decide.approve("certified (sandbox auto-approve scenario)")
            case Mode.DENY:
                result.now[sequence] = decide.deny_not_necessary()
            case Mode.PARTIAL:
                result.now[sequence] = (
                    decide.approve("certified (sandbox partial-approval scenario)")
                    if position % 2
                    else decide.deny_not_necessary()
                )
            case Mode.MODIFY:
                result.now[sequence] = decide.modify()
            case Mode.PEND_THEN_APPROVE:
                result.now[sequence] = decide.pend(("Clinical notes supporting the request",))
                result.later[sequence] = decide.approve("certified after clinical review")
            case Mode.PEND_THEN_DENY:
                titles = ("Clinical notes supporting the request",)
                result.now[sequence] = decide.pend(titles)
                result.later[sequence] = decide.deny_missing(titles)
            case Mode.POLICY:
                _by_policy(result, decide, item, claim, engine, view)
    return Adjudication(result.now, result.later, tuple(cancelled))


def _by_policy(
    result: Adjudication,
    decide: _Decider,
    item: ClaimItem,
    claim: PasClaimRequest,
    engine: PolicyEngine,
    view: _EvaluationView,
) -> None:
    sequence = decide.sequence
    facts = line_facts(claim, item)
    determination = engine.determine(facts) if facts is not None else None
    if determination is None or determination.covered is Covered.INDETERMINATE:
        # No pack speaks for this payer or this kind of code: a person reviews it.
        why = (
            "the service is named by an X12 service type, not a procedure code"
            if facts is None
            else "no published policy decides this service for this plan"
        )
        result.now[sequence] = decide.pend((f"Clinical review: {why}",))
        result.later[sequence] = decide.approve("certified after clinical review")
        return
    if determination.covered is Covered.NOT_COVERED:
        result.now[sequence] = decide.deny(
            None,
            f"{item.code} is not a covered benefit of this plan (policy rule "
            f"{determination.deciding_rule}).",
        )
        return
    if not determination.needs_auth:
        result.now[sequence] = decide.no_action(determination.deciding_rule)
        return
    satisfied = view.satisfied(determination, item)
    if satisfied:
        result.now[sequence] = decide.approve(
            f"certified automatically: {satisfied}", determination=determination
        )
        return
    if claim.questionnaire_responses:
        result.now[sequence] = decide.approve(
            "certified on the documentation sent with the request", determination=determination
        )
        return
    titles = tuple(d.title for d in determination.documentation) or (
        "Clinical notes supporting the request",
    )
    result.now[sequence] = decide.pend(titles)
    result.later[sequence] = decide.approve(
        "certified after clinical review", determination=determination
    )


def line_facts(claim: PasClaimRequest, item: ClaimItem) -> LineFacts | None:
    """The policy engine's view of one item; None when it has no procedure code to match."""
    if item.code_system is None or item.code is None:
        return None
    return service_facts(
        payer_id=claim.payer_id,
        plan=claim.plan,
        line_of_business=claim.line_of_business,
        state=claim.plan_state,
        code_system=item.code_system,
        code=item.code,
        day=item.service_start or (claim.timestamp.date() if claim.timestamp else date.today()),
        birth_date=claim.birth_date,
        sex=claim.sex,
        diagnoses=item.diagnoses,
        modifiers=item.modifiers,
        place_of_service=item.place_of_service,
        units=item.quantity,
        amount=item.net,
    )


def service_facts(
    *,
    payer_id: str | None,
    plan: str | None,
    line_of_business: LineOfBusiness | None,
    state: str | None,
    code_system: CodeSystem,
    code: str,
    day: date,
    birth_date: date | None,
    sex: Sex | None,
    diagnoses: tuple[str, ...],
    modifiers: tuple[str, ...] = (),
    place_of_service: str | None = None,
    units: Decimal | None = None,
    amount: Decimal | None = None,
) -> LineFacts:
    """``LineFacts`` from what a payer received; unknown facts match only rules that ignore them."""
    age = (
        day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
        if birth_date
        else 0
    )
    return LineFacts(
        Setting(
            payer_id or "",
            plan or "",
            line_of_business or LineOfBusiness.COMMERCIAL,
            state or "",
            None,
            code_system,
            code,
            modifiers,
            place_of_service or "",
        ),
        day,
        units or Decimal(1),
        amount or Decimal(0),
        max(age, 0),
        sex or Sex.UNKNOWN,
        diagnoses,
    )


@dataclass(frozen=True)
class _Decider:
    """Builds the determination of one item, numbered and dated consistently."""

    claim: PasClaimRequest
    item: ClaimItem
    sequence: int
    key: str
    today: date

    @property
    def _start(self) -> date:
        return max(self.item.service_start or self.today, self.today)

    def approve(
        self, note: str, *, determination: Determination | None = None
    ) -> LineDetermination:
        validity = determination.approval_validity if determination else None
        days = validity.days if validity else 90
        units = (validity.units if validity else None) or self.item.quantity or Decimal(1)
        return LineDetermination(
            decision=Decision.APPROVED,
            certification_number=certification_number(self.key, self.sequence),
            authorized_units=units,
            valid_from=self._start,
            valid_to=self._start + timedelta(days=days - 1),
            reason_text=note.capitalize(),
            x12_action="A1",
        )

    def no_action(self, rule: str | None) -> LineDetermination:
        return LineDetermination(
            decision=Decision.APPROVED,
            reason_text=f"No prior authorization is required for this service (rule {rule}).",
            x12_action="NA",
        )

    def modify(self) -> LineDetermination:
        requested = self.item.quantity or Decimal(1)
        units = max(Decimal(1), (requested / 2).to_integral_value(rounding="ROUND_FLOOR"))
        return LineDetermination(
            decision=Decision.MODIFIED,
            certification_number=certification_number(self.key, self.sequence),
            authorized_units=units,
            valid_from=self._start,
            valid_to=self._start + timedelta(days=29),
            reason_text=(
                f"Certified for {units} of {requested} unit(s) requested, valid 30 days "
                "(sandbox modified-approval scenario)."
            ),
            x12_action="A6",
        )

    def pend(self, titles: Sequence[str]) -> LineDetermination:
        return LineDetermination(
            decision=Decision.PENDED,
            reason_code=REASON_INFO_REQUIRED,
            reason_text="Additional information required: " + "; ".join(titles),
            x12_action="A4",
        )

    def deny(self, code: str | None, text: str) -> LineDetermination:
        return LineDetermination(
            decision=Decision.DENIED, reason_code=code, reason_text=text, x12_action="A3"
        )

    def deny_not_necessary(self) -> LineDetermination:
        return self.deny(
            None,
            f"Not medically necessary: the clinical information sent for {self.item.code} does "
            "not meet the payer's criteria (sandbox scenario).",
        )

    def deny_missing(self, titles: Sequence[str]) -> LineDetermination:
        return self.deny(
            REASON_INFO_NOT_RECEIVED,
            "Denied: the requested documentation was not received in time: " + "; ".join(titles),
        )


class _EvaluationView:
    """The received Bundle as the payer's criteria see it.

    Criteria read ``%order.reasonCode`` and ``%practitioner.identifier``; a payer
    resolves the order's ``reasonReference`` Conditions to codes and adds the gold-card
    programs it keeps on file for the practitioner's NPI, so the view does the same.

    The Bundle is only read (criteria evaluation does not change it; the order and
    practitioner the view amends are copies), and it is indexed on first use: most
    items never reach a criterion, and copying the whole Bundle per submission was a
    measurable part of the sandbox's time under load.
    """

    def __init__(
        self, bundle: Mapping[str, Any], gold_cards: Mapping[str, tuple[tuple[str, str], ...]]
    ) -> None:
        self._bundle = bundle
        self._gold_cards = gold_cards

    @cached_property
    def _index(self) -> BundleIndex:
        return BundleIndex.of(self._bundle)

    @property
    def _claim(self) -> Entry | None:
        return self._index.entries[0] if self._index.entries else None

    def _follow(self, holder: object) -> dict[str, Any] | None:
        ref = as_str((as_dict(holder) or {}).get("reference"))
        entry = self._index.resolve(ref, self._claim) if ref and self._claim else None
        return entry.resource if entry else None

    def variables(self, item: ClaimItem) -> dict[str, Any]:
        """``%order``, ``%patient``, ``%coverage`` and ``%practitioner`` for one item."""
        claim = self._claim.resource if self._claim else {}
        raw_item = next(
            (
                i
                for i in as_list(claim.get("item"))
                if isinstance(i, dict) and i.get("sequence") == item.sequence
            ),
            {},
        )
        requested = next(
            (
                e.get("valueReference")
                for e in as_list(raw_item.get("extension"))
                if isinstance(e, dict) and e.get("url") == v.EXT_REQUESTED_SERVICE
            ),
            None,
        )
        order = copy.deepcopy(self._follow(requested) or {})
        codes = list(item.diagnoses)
        for reason in as_list(order.get("reasonReference")):
            condition = self._follow(reason) or {}
            for coding in as_list((as_dict(condition.get("code")) or {}).get("coding")):
                if isinstance(coding, dict) and as_str(coding.get("code")):
                    codes.append(coding["code"])
        order["reasonCode"] = [concept(v.ICD10CM, c) for c in dict.fromkeys(codes)]
        practitioner = copy.deepcopy(self._follow(claim.get("provider")) or {})
        identifiers = [i for i in as_list(practitioner.get("identifier")) if isinstance(i, dict)]
        for ident in list(identifiers):
            if ident.get("system") == v.NPI:
                for system, program in self._gold_cards.get(str(ident.get("value")), ()):
                    identifiers.append({"system": system, "value": program})
        practitioner["identifier"] = identifiers
        insurance = next((i for i in as_list(claim.get("insurance")) if isinstance(i, dict)), {})
        return {
            "order": order,
            "patient": self._follow(claim.get("patient")) or {},
            "coverage": self._follow(insurance.get("coverage")) or {},
            "practitioner": practitioner,
        }

    def satisfied(self, determination: Determination, item: ClaimItem) -> str | None:
        """The description of the first criterion that holds for ``item``, if any."""
        if not determination.criteria:
            return None
        variables = self.variables(item)
        for criterion in determination.criteria:
            if assess(criterion, self._bundle, variables).satisfied:
                return criterion.description
        return None
