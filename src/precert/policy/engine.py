"""The compiled policy engine: indexed rule lookup, layered merge, memoized per setting.

Compilation turns the packs' rules into:

* a code index: a hash of exact codes plus sorted, non-overlapping segments of the
  code ranges (each segment lists the rules whose ranges cover it), so a code finds
  its rules with one dict lookup and one binary search;
* rules without codes, grouped by payer;
* a classification index (code -> service category), most specific layer first.

Evaluating a line first looks up its *setting* (payer, plan, line of business, state,
category, code system, code, modifiers, place of service). The first
time a setting is seen, its candidate rules are found through the indexes and kept as
a ``_Program``. A program whose rules depend on nothing but the service date answers
with a shared ``Determination`` per date segment; one whose rules also test units,
amounts, age, sex or diagnoses checks those few candidates for each line.

Merging is field by field in precedence order (layer, then priority, then specificity,
then position in the pack): the most specific rule that sets a field decides it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from precert.domain.authorization import ServiceCategory
from precert.domain.codes import icd10cm_chapter
from precert.policy.model import (
    CodeRange,
    Covered,
    Determination,
    DiagnosisSet,
    Layer,
    LineFacts,
    PaNeeded,
    PayerProfile,
    PolicyPack,
    Rule,
    Setting,
)

_ANY_PAYER = ""
#: How many distinct settings the engine remembers before starting afresh.
MAX_SETTINGS = 500_000


class CodeIndex:
    """Maps a code to the items filed under it, exactly or through ranges, without scanning."""

    def __init__(self, entries: Iterable[tuple[Iterable[str], Iterable[CodeRange], int]]) -> None:
        exact: dict[str, list[int]] = defaultdict(list)
        spans: list[tuple[str, str, int]] = []
        for codes, ranges, item in entries:
            for code in codes:
                exact[code].append(item)
            spans.extend((r.low, r.stop, item) for r in ranges)
        self._exact = {code: tuple(items) for code, items in exact.items()}
        # Elementary segments: between consecutive boundaries the covering set is constant.
        self._bounds = sorted({b for low, stop, _ in spans for b in (low, stop)})
        covering: list[list[tuple[int, int]]] = [[] for _ in self._bounds]
        for low, stop, item in spans:
            for segment in range(
                bisect_right(self._bounds, low) - 1, bisect_right(self._bounds, stop) - 1
            ):
                covering[segment].append((item, len(low)))
        self._segments = tuple(tuple(items) for items in covering)

    def lookup(self, code: str) -> tuple[int, ...]:
        """The items filed under ``code`` exactly plus those whose ranges contain it."""
        found = self._exact.get(code, ())
        position = bisect_right(self._bounds, code) - 1
        if position >= 0 and self._segments[position]:
            # String order puts "7055" and "705510" near "70551": only equal lengths are inside.
            size = len(code)
            found = found + tuple(i for i, length in self._segments[position] if length == size)
        return found


@lru_cache(maxsize=65536)
def _undotted(diagnosis: str) -> str:
    return diagnosis.replace(".", "").upper()


@lru_cache(maxsize=65536)
def _chapter(diagnosis: str) -> str:
    try:
        return icd10cm_chapter(diagnosis)
    except (ValueError, KeyError):
        return ""


def diagnosis_matches(wanted: DiagnosisSet, diagnoses: Sequence[str]) -> bool:
    """Whether any of ``diagnoses`` is one of ``wanted``'s codes, ranges or chapters."""
    for diagnosis in diagnoses:
        code = _undotted(diagnosis)
        if any(code.startswith(p) for p in wanted.prefixes):
            return True
        if any(r.low <= code[:3] <= r.high for r in wanted.ranges):
            return True
        if wanted.chapters and _chapter(diagnosis) in wanted.chapters:
            return True
    return False


def has_line_conditions(rule: Rule) -> bool:
    """Whether the rule tests per-line facts beyond the setting and the date."""
    m = rule.match
    return bool(m.units or m.amount or m.age or m.sexes or m.diagnoses)


def line_conditions_hold(rule: Rule, facts: LineFacts) -> bool:
    """Whether the rule's per-line conditions (units, amount, age, sex, diagnoses) hold."""
    m = rule.match
    return (
        (m.units is None or facts.units in m.units)
        and (m.amount is None or facts.amount in m.amount)
        and (m.age is None or facts.age in m.age)
        and (not m.sexes or facts.sex in m.sexes)
        and (m.diagnoses is None or diagnosis_matches(m.diagnoses, facts.diagnoses))
    )


def merge(
    fired: Sequence[Rule], category: ServiceCategory | None, payer: PayerProfile | None
) -> Determination:
    """Combine the fired rules, given in ascending precedence, into one determination.

    Each outcome field is decided by the last (most specific) rule that sets it. When
    no rule sets a lead time for a line that needs authorization, the payer's
    per-category lead time applies.
    """
    fields: dict[str, Any] = {}
    deciding: Rule | None = None
    notes: list[str] = []
    for rule in fired:
        outcome = rule.outcome
        for name in (
            "covered",
            "pa_needed",
            "doc_needed",
            "doc_purposes",
            "info_needed",
            "documentation",
            "lead_time_business_days",
            "decision_timeframe",
            "approval_validity",
            "criteria",
        ):
            value = getattr(outcome, name)
            if value is not None:
                fields[name] = value
        if outcome.pa_needed is not None:
            deciding = rule
        if outcome.note:
            notes.append(outcome.note)
    pa_needed = fields.get("pa_needed", PaNeeded.INDETERMINATE)
    lead_time = fields.get("lead_time_business_days")
    if (
        lead_time is None
        and payer is not None
        and category is not None
        and pa_needed
        in (
            PaNeeded.AUTH_NEEDED,
            PaNeeded.PERFORMPA,
            PaNeeded.CONDITIONAL,
        )
    ):
        lead_time = payer.lead_time_business_days.get(category)
    return Determination(
        covered=fields.get("covered", Covered.INDETERMINATE),
        pa_needed=pa_needed,
        doc_needed=fields.get("doc_needed"),
        doc_purposes=fields.get("doc_purposes", ()),
        info_needed=fields.get("info_needed", ()),
        documentation=fields.get("documentation", ()),
        lead_time_business_days=lead_time,
        decision_timeframe=fields.get("decision_timeframe"),
        approval_validity=fields.get("approval_validity"),
        criteria=fields.get("criteria", ()),
        notes=tuple(notes),
        category=category,
        rule_ids=tuple(r.id for r in fired),
        deciding_rule=deciding.id if deciding else None,
        deciding_layer=deciding.layer if deciding else None,
    )


class _Program:
    """The candidate rules of one setting, in precedence order, and how to answer with them."""

    __slots__ = (
        "bounds",
        "by_condition",
        "candidates",
        "category",
        "conditional",
        "line_dependent",
        "payer",
    )

    def __init__(
        self,
        candidates: tuple[Rule, ...],
        category: ServiceCategory | None,
        payer: PayerProfile | None,
    ) -> None:
        self.candidates = candidates
        self.category = category
        self.payer = payer
        self.conditional = tuple(r for r in candidates if has_line_conditions(r))
        self.line_dependent = bool(self.conditional)
        self.by_condition: dict[tuple[int, tuple[bool, ...]], Determination] = {}
        # Days on which the set of rules in force changes: the segments' boundaries.
        changes: set[date] = set()
        for rule in candidates:
            window = rule.match.service_dates
            if window.start is not None:
                changes.add(window.start)
            if window.end is not None and window.end < date.max:
                changes.add(window.end + timedelta(days=1))
        self.bounds = sorted(changes)

    def segment(self, day: date) -> tuple[date, date, int]:
        """The half-open window [first, stop) of days around ``day`` with the same rules."""
        position = bisect_right(self.bounds, day)
        first = self.bounds[position - 1] if position > 0 else date.min
        stop = self.bounds[position] if position < len(self.bounds) else date.max
        return first, stop, position

    def determine(self, facts: LineFacts) -> Determination:
        """Evaluate this line against the candidates.

        The answer depends only on the date segment and on which conditional rules
        hold, so it is memoized on exactly that: many lines differ in amount or
        diagnosis without changing which rules fire.
        """
        _, _, position = self.segment(facts.service_date)
        holds = tuple(line_conditions_hold(r, facts) for r in self.conditional)
        key = (position, holds)
        found = self.by_condition.get(key)
        if found is None:
            day = facts.service_date
            fired = [
                r
                for r in self.candidates
                if day in r.match.service_dates
                and (r not in self.conditional or holds[self.conditional.index(r)])
            ]
            found = self.by_condition[key] = merge(fired, self.category, self.payer)
        return found

    def determine_for_day(self, facts: LineFacts) -> tuple[date, date, Determination]:
        """For a program without line conditions: the shared answer for the day's segment."""
        first, stop, _ = self.segment(facts.service_date)
        return first, stop, self.determine(facts)


class PolicyEngine:
    """Compiled, layered policy packs. Evaluation is pure: same facts, same answer."""

    def __init__(self, packs: Sequence[PolicyPack]) -> None:
        self.packs = tuple(packs)
        self.rules: tuple[Rule, ...] = tuple(
            sorted((r for p in packs for r in p.rules), key=lambda r: r.precedence)
        )
        self.payers: dict[str, PayerProfile] = {
            p.payer.id: p.payer for p in packs if p.payer is not None
        }
        coded = [(r.match.codes, r.match.code_ranges, i) for i, r in enumerate(self.rules)]
        self._codes = CodeIndex(c for c in coded if c[0] or c[1])
        uncoded: dict[str, list[int]] = defaultdict(list)
        for i, rule in enumerate(self.rules):
            if not rule.match.has_codes:
                for payer in rule.match.payers or {_ANY_PAYER}:
                    uncoded[payer].append(i)
        self._uncoded = {payer: tuple(items) for payer, items in uncoded.items()}
        # Classification: later (more specific) packs come last and win.
        classifying = sorted(packs, key=lambda p: int(p.info.layer))
        self._classes: list[tuple[ServiceCategory, Layer]] = []
        entries: list[tuple[frozenset[str], tuple[CodeRange, ...], int]] = []
        for pack in classifying:
            for category, ranges in pack.classification.items():
                entries.append((frozenset(), ranges, len(self._classes)))
                self._classes.append((category, pack.info.layer))
        self._classify = CodeIndex(entries)
        # setting -> its program; and, for programs that depend only on the day, setting ->
        # (first day, stop day, answer) for the date segment seen last.
        self._programs: dict[Setting, _Program] = {}
        self._answers: dict[Setting, tuple[date, date, Determination]] = {}

    # --- catalog and classification --------------------------------------------------

    def payer_catalog(self) -> list[PayerProfile]:
        """The payers the loaded packs describe, by id."""
        return [self.payers[k] for k in sorted(self.payers)]

    def classify(self, code: str) -> ServiceCategory | None:
        """The service category the packs file ``code`` under (most specific layer), if any."""
        found = self._classify.lookup(code)
        return self._classes[max(found)][0] if found else None

    # --- evaluation --------------------------------------------------------------------

    def candidates(self, facts: Setting) -> tuple[tuple[Rule, ...], ServiceCategory]:
        """Rules whose setting conditions match ``facts``, in precedence order, and the category.

        A line without a category takes the one its code is classified under, or
        ``other`` when no pack classifies the code.

        Found through the indexes: the rules filed under the code, plus the code-less
        rules of the payer and of every payer.
        """
        category = facts.category or self.classify(facts.code) or ServiceCategory.OTHER
        indexes = set(self._codes.lookup(facts.code))
        indexes.update(self._uncoded.get(facts.payer_id, ()))
        indexes.update(self._uncoded.get(_ANY_PAYER, ()))
        found = tuple(
            self.rules[i]
            for i in sorted(indexes)
            if setting_matches(self.rules[i], facts, category)
        )
        return found, category

    def _program(self, setting: Setting) -> _Program:
        rules, category = self.candidates(setting)
        return _Program(rules, category, self.payers.get(setting.payer_id))

    def determine(self, facts: LineFacts) -> Determination:
        """The determination for one line."""
        return self.determine_all((facts,))[0]

    def determine_all(self, lines: Iterable[LineFacts]) -> list[Determination]:
        """Determinations for many lines, in order.

        This loop is the hot path of schedule screening, so it is written for speed:
        for a setting already seen whose answer depends only on the day, a line costs
        one dict lookup (identical setting objects compare by identity) and one date
        comparison. Everything else goes
        through ``_determine_slowly``, which also refreshes the fast entry.
        """
        answers = self._answers
        out: list[Determination] = []
        append = out.append
        for facts in lines:
            try:
                first, stop, answer = answers[facts[0]]
            except KeyError:
                append(self._determine_slowly(facts))
                continue
            if first <= facts[1] < stop:
                append(answer)
            else:
                append(self._determine_slowly(facts))
        return out

    def _determine_slowly(self, facts: LineFacts) -> Determination:
        setting = facts.setting
        program = self._programs.get(setting)
        if program is None:
            if len(self._programs) >= MAX_SETTINGS:
                # Bound the memory of a long-running server; settings repeat, so it refills.
                self._programs.clear()
                self._answers.clear()
            program = self._programs[setting] = self._program(setting)
        if program.line_dependent:
            return program.determine(facts)
        first, stop, answer = program.determine_for_day(facts)
        self._answers[setting] = (first, stop, answer)
        return answer


def setting_matches(rule: Rule, facts: Setting, category: ServiceCategory | None) -> bool:
    """Whether the rule's setting conditions hold (codes are checked by the index)."""
    m = rule.match
    return (
        (not m.payers or facts.payer_id in m.payers)
        and (not m.plans or facts.plan in m.plans)
        and (not m.lines_of_business or facts.line_of_business in m.lines_of_business)
        and (not m.states or facts.state in m.states)
        and (not m.categories or category in m.categories)
        and (m.code_system is None or facts.code_system == m.code_system)
        and (not m.modifiers or not m.modifiers.isdisjoint(facts.modifiers))
        and (not m.places_of_service or facts.place_of_service in m.places_of_service)
    )
