"""A naive reference evaluator: scan every rule, test every condition, sort, merge.

It shares nothing with the compiled engine except ``merge`` (the documented
field-by-field combination), so a disagreement points at indexing or memoization.
"""

from __future__ import annotations

from collections.abc import Sequence

from precert.domain.authorization import ServiceCategory
from precert.domain.codes import icd10cm_chapter
from precert.policy.engine import merge
from precert.policy.model import Determination, LineFacts, PolicyPack, Rule


def _category(packs: Sequence[PolicyPack], code: str) -> ServiceCategory | None:
    found: tuple[int, int, ServiceCategory] | None = None
    for index, pack in enumerate(sorted(packs, key=lambda p: int(p.info.layer))):
        for category, ranges in pack.classification.items():
            for r in ranges:
                if len(code) == len(r.low) and r.low <= code <= r.high:
                    key = (int(pack.info.layer), index, category)
                    if found is None or key[:2] >= found[:2]:
                        found = key
    return found[2] if found else None


def _diagnosis_hit(rule: Rule, diagnoses: Sequence[str]) -> bool:
    wanted = rule.match.diagnoses
    assert wanted is not None
    for diagnosis in diagnoses:
        bare = diagnosis.replace(".", "")
        if any(bare.startswith(p) for p in wanted.prefixes):
            return True
        if any(r.low <= bare[:3] <= r.high for r in wanted.ranges):
            return True
        if wanted.chapters and icd10cm_chapter(diagnosis) in wanted.chapters:
            return True
    return False


def _applies(rule: Rule, facts: LineFacts, category: ServiceCategory | None) -> bool:
    m, s = rule.match, facts.setting
    checks = [
        not m.payers or s.payer_id in m.payers,
        not m.plans or s.plan in m.plans,
        not m.lines_of_business or s.line_of_business in m.lines_of_business,
        not m.states or s.state in m.states,
        not m.categories or category in m.categories,
        m.code_system is None or s.code_system == m.code_system,
        not m.has_codes
        or s.code in m.codes
        or any(len(s.code) == len(r.low) and r.low <= s.code <= r.high for r in m.code_ranges),
        not m.modifiers or any(x in m.modifiers for x in s.modifiers),
        not m.places_of_service or s.place_of_service in m.places_of_service,
        m.units is None or facts.units in m.units,
        m.amount is None or facts.amount in m.amount,
        m.age is None or facts.age in m.age,
        not m.sexes or facts.sex in m.sexes,
        m.diagnoses is None or _diagnosis_hit(rule, facts.diagnoses),
        (m.service_dates.start is None or facts.service_date >= m.service_dates.start)
        and (m.service_dates.end is None or facts.service_date <= m.service_dates.end),
    ]
    return all(checks)


def reference_determine(packs: Sequence[PolicyPack], facts: LineFacts) -> Determination:
    """The determination by brute force."""
    category = (
        facts.setting.category or _category(packs, facts.setting.code) or ServiceCategory.OTHER
    )
    rules = [r for p in packs for r in p.rules if _applies(r, facts, category)]
    rules.sort(key=lambda r: r.precedence)
    payers = {p.payer.id: p.payer for p in packs if p.payer}
    return merge(rules, category, payers.get(facts.setting.payer_id))
