"""Lint for loaded packs: ambiguous overlaps, codes that do not exist, expired rules.

Schema and structural errors are the loader's job (``PackError``); these checks run on
packs that loaded. An *ambiguous overlap* is two rules of the same layer, priority and
specificity that can match the same line and set the same outcome field differently:
the engine then decides by position in the file, which is almost never what the author
meant. Rules of different priority or specificity overlap by design and are not reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from precert.domain.authorization import ServiceCategory
from precert.policy.codesets import (
    terminated_procedure_code,
    unknown_diagnosis,
    unknown_procedure_code,
)
from precert.policy.model import DateWindow, Match, NumberRange, PolicyPack, Rule


class Severity(StrEnum):
    """How bad a finding is: errors fail ``policy check``, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing ``policy check`` reports about a rule."""

    severity: Severity
    pack_path: str
    rule_id: str
    message: str


def _sets_meet(a: frozenset[object], b: frozenset[object]) -> bool:
    return not a or not b or not a.isdisjoint(b)


def _numbers_meet(a: NumberRange | None, b: NumberRange | None) -> bool:
    if a is None or b is None:
        return True
    low = max((x for x in (a.minimum, b.minimum) if x is not None), default=None)
    high = min((x for x in (a.maximum, b.maximum) if x is not None), default=None)
    return low is None or high is None or low <= high


def _dates_meet(a: DateWindow, b: DateWindow) -> bool:
    both = a.intersect(b)
    return both.start is None or both.end is None or both.start <= both.end


def _codes_meet(a: Match, b: Match) -> bool:
    if not a.has_codes or not b.has_codes:
        return True
    if not a.codes.isdisjoint(b.codes):
        return True
    if any(code in r for code in a.codes for r in b.code_ranges):
        return True
    if any(code in r for code in b.codes for r in a.code_ranges):
        return True
    return any(
        len(x.low) == len(y.low) and x.low <= y.high and y.low <= x.high
        for x in a.code_ranges
        for y in b.code_ranges
    )


def may_overlap(
    a: Match, b: Match, classify: Callable[[str], ServiceCategory | None] = lambda _: None
) -> bool:
    """Whether some line could match both rules (conservative: diagnoses are assumed to meet).

    A rule naming codes but no category is taken to cover the categories its codes are
    classified under (by ``classify``), so a category-wide rule and a code rule of
    another category do not count as overlapping.
    """
    return (
        _sets_meet(_categories(a, classify), _categories(b, classify))
        and _sets_meet(a.payers, b.payers)
        and _sets_meet(a.plans, b.plans)
        and _sets_meet(a.lines_of_business, b.lines_of_business)
        and _sets_meet(a.states, b.states)
        and (a.code_system is None or b.code_system is None or a.code_system == b.code_system)
        and _codes_meet(a, b)
        and _sets_meet(a.modifiers, b.modifiers)
        and _sets_meet(a.places_of_service, b.places_of_service)
        and _sets_meet(a.sexes, b.sexes)
        and _numbers_meet(a.units, b.units)
        and _numbers_meet(a.amount, b.amount)
        and _numbers_meet(a.age, b.age)
        and _dates_meet(a.service_dates, b.service_dates)
    )


def _categories(
    m: Match, classify: Callable[[str], ServiceCategory | None]
) -> frozenset[ServiceCategory]:
    if m.categories or not m.has_codes:
        return m.categories
    samples = [*m.codes, *(r.low for r in m.code_ranges), *(r.high for r in m.code_ranges)]
    found = {classify(code) or ServiceCategory.OTHER for code in samples}
    return frozenset(found)


def disagreements(a: Rule, b: Rule) -> list[str]:
    """The outcome fields both rules set, to different values."""
    return [
        f.name
        for f in fields(a.outcome)
        if getattr(a.outcome, f.name) is not None
        and getattr(b.outcome, f.name) is not None
        and getattr(a.outcome, f.name) != getattr(b.outcome, f.name)
    ]


def check_packs(
    packs: Sequence[PolicyPack],
    today: date,
    classify: Callable[[str], ServiceCategory | None] = lambda _: None,
) -> list[Finding]:
    """Every finding for ``packs``, errors first, in pack and rule order.

    ``classify`` maps a code to its service category (``PolicyEngine.classify``).
    """
    paths = {p.info.id: p.info.path for p in packs}
    findings: list[Finding] = []
    tiers: dict[tuple[int, int, int], list[Rule]] = defaultdict(list)
    for pack in packs:
        for rule in pack.rules:
            tiers[(int(rule.layer), rule.priority, rule.match.specificity)].append(rule)
            findings.extend(_code_findings(pack, rule, today))
            end = rule.match.service_dates.end
            if end is not None and end < today:
                findings.append(
                    Finding(Severity.WARNING, pack.info.path, rule.id, f"expired on {end}")
                )
    for rules in tiers.values():
        for i, a in enumerate(rules):
            for b in rules[i + 1 :]:
                differing = disagreements(a, b)
                if differing and may_overlap(a.match, b.match, classify):
                    findings.append(
                        Finding(
                            Severity.ERROR,
                            paths[a.pack_id],
                            a.id,
                            f"overlaps rule {b.id} ({paths[b.pack_id]}) at the same layer, "
                            f"priority and specificity but disagrees on {', '.join(differing)}",
                        )
                    )
    return sorted(findings, key=lambda f: f.severity != Severity.ERROR)


def _code_findings(pack: PolicyPack, rule: Rule, today: date) -> list[Finding]:
    found: list[Finding] = []
    m = rule.match
    for code in sorted(m.codes):
        problem = unknown_procedure_code(m.code_system, code)
        if problem:
            found.append(Finding(Severity.ERROR, pack.info.path, rule.id, problem))
        elif ended := terminated_procedure_code(code, today):
            # A rule may rightly keep naming a retired code for claims of past dates.
            found.append(Finding(Severity.WARNING, pack.info.path, rule.id, ended))
    if m.diagnoses is not None:
        entries = [*m.diagnoses.prefixes, *(e for r in m.diagnoses.ranges for e in (r.low, r.high))]
        for entry in entries:
            problem = unknown_diagnosis(entry)
            if problem:
                found.append(Finding(Severity.ERROR, pack.info.path, rule.id, problem))
    return found
