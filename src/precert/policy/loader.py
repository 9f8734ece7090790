"""Reading policy packs: YAML -> JSON Schema validation -> immutable rules, with located errors.

This is the policy package's only I/O: ``load_pack`` reads one file, ``load_packs``
several, ``shipped_pack_paths`` lists the packs precert ships. Every problem is
reported with its file, line and column (and the rule id when inside a rule), all
at once, so an author fixes a pack in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from precert.domain.authorization import LineOfBusiness, ServiceCategory, Sex
from precert.domain.codes import CodeSystem, check_procedure_code
from precert.domain.errors import DomainError
from precert.policy.criteria import syntax_errors
from precert.policy.model import (
    ApprovalValidity,
    CodeRange,
    Covered,
    Criterion,
    DateWindow,
    DecisionTimeframe,
    DiagnosisSet,
    DocNeeded,
    DocPurpose,
    DocumentationItem,
    InfoNeeded,
    Layer,
    Match,
    NumberRange,
    Outcome,
    PackInfo,
    PaNeeded,
    PayerProfile,
    PolicyPack,
    Rule,
)

SCHEMA_FILE = "pack.schema.json"


@dataclass(frozen=True)
class PackProblem:
    """One thing wrong with a pack: where it is and what it is."""

    file: str
    line: int
    column: int
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        rule = f" (rule {self.rule_id})" if self.rule_id else ""
        return f"{self.file}:{self.line}:{self.column}: {self.message}{rule}"


class PackError(DomainError):
    """A pack (or several) that cannot be loaded; ``problems`` lists every error found."""

    def __init__(self, problems: Sequence[PackProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# libyaml's parser (when PyYAML was built with it) is an order of magnitude faster and
# reports the same marks; the pure-Python loader is the fallback.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PackYamlLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """Safe YAML that keeps dates as text, so the schema sees exactly what the author wrote."""


_PackYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def pack_schema() -> dict[str, Any]:
    """The published JSON Schema of a policy pack."""
    text = resources.files("precert.policy").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(pack_schema())


def shipped_pack_paths() -> list[Path]:
    """The packs precert ships (federal, Missouri, the fictional example payers), by file name."""
    folder = resources.files("precert.policy").joinpath("packs")
    return sorted(Path(str(folder)) / p.name for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_packs(paths: Iterable[str | Path]) -> list[PolicyPack]:
    """Load every pack in ``paths``; raise ``PackError`` listing the problems of all of them.

    Pack ids must be unique across the set, and so must rule ids (a determination
    names its rules by id alone).
    """
    packs: list[PolicyPack] = []
    problems: list[PackProblem] = []
    for path in paths:
        try:
            packs.append(load_pack(path))
        except PackError as exc:
            problems.extend(exc.problems)
    seen_packs: dict[str, str] = {}
    seen_rules: dict[str, str] = {}
    for pack in packs:
        if pack.info.id in seen_packs:
            problems.append(
                PackProblem(
                    pack.info.path,
                    1,
                    1,
                    f"pack id {pack.info.id!r} is also used by {seen_packs[pack.info.id]}",
                )
            )
        seen_packs[pack.info.id] = pack.info.path
        for rule in pack.rules:
            if rule.id in seen_rules and seen_rules[rule.id] != pack.info.path:
                problems.append(
                    PackProblem(
                        pack.info.path,
                        1,
                        1,
                        f"rule id {rule.id!r} is also used in {seen_rules[rule.id]}",
                        rule.id,
                    )
                )
            seen_rules[rule.id] = pack.info.path
    if problems:
        raise PackError(problems)
    return packs


def load_pack(path: str | Path) -> PolicyPack:
    """Read, validate and build one pack file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError([PackProblem(file, 0, 0, f"cannot read the pack: {exc.strerror}")]) from exc
    return parse_pack(text, file)


def parse_pack(text: str, file: str = "<pack>") -> PolicyPack:
    """Validate and build a pack from YAML ``text``; ``file`` names it in error messages."""
    try:
        loader = _PackYamlLoader(text)
        try:
            # One parse: the node tree gives positions, the document is built from it.
            root = loader.get_single_node()
            document = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PackError(
            [PackProblem(file, line, column, f"malformed YAML: {exc.problem}")]
        ) from exc
    if root is None or not isinstance(document, dict):
        raise PackError([PackProblem(file, 1, 1, "a pack must be a YAML mapping")])
    locate = _Locator(file, root, document)
    problems = [
        locate(list(err.absolute_path), _schema_message(err))
        for err in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        raise PackError(problems)
    builder = _PackBuilder(file, document, locate)
    pack = builder.build()
    if builder.problems:
        raise PackError(builder.problems)
    return pack


def _schema_message(err: Any) -> str:
    if err.validator == "additionalProperties":
        return f"unknown key: {err.message}"
    return str(err.message)


class _Locator:
    """Maps a JSON path in the document to the line and column of its YAML node."""

    def __init__(self, file: str, root: yaml.Node, document: Mapping[str, Any]) -> None:
        self.file = file
        self.root = root
        self.document = document

    def __call__(self, path: Sequence[str | int], message: str) -> PackProblem:
        node = self.root
        for part in path:
            child = self._child(node, part)
            if child is None:
                break
            node = child
        mark = node.start_mark
        return PackProblem(self.file, mark.line + 1, mark.column + 1, message, self._rule_id(path))

    @staticmethod
    def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    return value  # type: ignore[no-any-return]
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            return node.value[part]  # type: ignore[no-any-return]
        return None

    def _rule_id(self, path: Sequence[str | int]) -> str | None:
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rules = self.document.get("rules")
            if (
                isinstance(rules, list)
                and path[1] < len(rules)
                and isinstance(rules[path[1]], dict)
            ):
                rule_id = rules[path[1]].get("id")
                return rule_id if isinstance(rule_id, str) else None
        return None


def _number(value: Any) -> Decimal:
    # Through str so 0.1 stays 0.1 rather than its binary approximation.
    return Decimal(str(value))


def _range(spec: Mapping[str, Any] | None) -> NumberRange | None:
    if spec is None:
        return None
    low, high = spec.get("min"), spec.get("max")
    return NumberRange(
        None if low is None else _number(low), None if high is None else _number(high)
    )


class _PackBuilder:
    """Turns a schema-valid document into model objects, collecting semantic problems."""

    def __init__(self, file: str, document: Mapping[str, Any], locate: _Locator) -> None:
        self.file = file
        self.doc = document
        self.locate = locate
        self.problems: list[PackProblem] = []

    def problem(self, path: Sequence[str | int], message: str) -> None:
        self.problems.append(self.locate(path, message))

    def build(self) -> PolicyPack:
        meta = self.doc["pack"]
        layer = Layer[meta["layer"].upper()]
        effective = DateWindow(
            self.date(["pack", "effective_from"], meta["effective_from"]),
            self.date(["pack", "effective_to"], meta.get("effective_to")),
        )
        if effective.start and effective.end and effective.end < effective.start:
            self.problem(["pack", "effective_to"], "effective_to is before effective_from")
        info = PackInfo(
            id=meta["id"],
            version=meta["version"],
            title=meta["title"],
            publisher=meta["publisher"],
            source=meta["source"],
            layer=layer,
            effective=effective,
            fictional=bool(meta.get("fictional", False)),
            path=self.file,
        )
        payer = self.payer(info) if "payer" in self.doc else None
        if layer is Layer.PAYER and payer is None:
            self.problem(["pack"], "a payer-layer pack must describe its payer under 'payer'")
        scope = dict(self.doc.get("scope") or {})
        if payer is not None:
            scope.setdefault("payers", [payer.id])
        if layer is Layer.PLAN and not (scope.get("payers") and scope.get("plans")):
            self.problem(["pack"], "a plan-layer pack must scope its payers and plans")
        classification: dict[ServiceCategory, tuple[CodeRange, ...]] = {}
        for category, entries in (self.doc.get("classification") or {}).items():
            codes, ranges = self.code_list(["classification", category], entries, None)
            classification[ServiceCategory(category)] = tuple(
                sorted((*ranges, *(CodeRange(c, c) for c in codes)))
            )
        rules = tuple(
            self.rule(i, spec, info, scope) for i, spec in enumerate(self.doc.get("rules", []))
        )
        ids = [r.id for r in rules]
        for i, rule_id in enumerate(ids):
            if rule_id in ids[:i]:
                self.problem(["rules", i, "id"], f"duplicate rule id {rule_id!r}")
        return PolicyPack(info, rules, payer, classification)

    def date(self, path: Sequence[str | int], value: str | None) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.problem(path, f"{value!r} is not a calendar date")
            return None

    def payer(self, info: PackInfo) -> PayerProfile:
        spec = self.doc["payer"]
        return PayerProfile(
            id=spec["id"],
            display_name=spec["display_name"],
            prior_auth_phone=spec["prior_auth_phone"],
            lines_of_business=tuple(LineOfBusiness(v) for v in spec["lines_of_business"]),
            x12_payer_id=spec["x12_payer_id"],
            lead_time_business_days={
                ServiceCategory(k): int(v) for k, v in spec["lead_time_business_days"].items()
            },
            service_categories=tuple(ServiceCategory(v) for v in spec["service_categories"]),
            fictional=info.fictional,
            website=spec.get("website"),
        )

    def code_list(
        self, path: list[str | int], entries: Sequence[str], system: CodeSystem | None
    ) -> tuple[frozenset[str], tuple[CodeRange, ...]]:
        codes: set[str] = set()
        ranges: list[CodeRange] = []
        for i, entry in enumerate(entries):
            low, _, high = entry.partition("-")
            if not (
                self.code_ok([*path, i], low, system)
                and (not high or self.code_ok([*path, i], high, system))
            ):
                continue
            if not high:
                codes.add(low)
            elif len(low) != len(high) or low[0].isdigit() != high[0].isdigit():
                self.problem([*path, i], f"range {entry!r} mixes code formats")
            elif low > high:
                self.problem([*path, i], f"range {entry!r} starts after it ends")
            else:
                ranges.append(CodeRange(low, high))
        return frozenset(codes), tuple(sorted(ranges))

    def code_ok(self, path: Sequence[str | int], code: str, system: CodeSystem | None) -> bool:
        systems = [system] if system else [CodeSystem.CPT, CodeSystem.HCPCS, CodeSystem.NDC]
        for candidate in systems:
            try:
                check_procedure_code(candidate, code)
            except ValueError:
                continue
            return True
        expected = system.value if system else "CPT, HCPCS or NDC"
        self.problem(path, f"{code!r} is not a well-formed {expected} code")
        return False

    def diagnoses(self, path: list[str | int], match: Mapping[str, Any]) -> DiagnosisSet | None:
        entries: list[str] = match.get("diagnoses", [])
        chapters: list[int] = match.get("diagnosis_chapters", [])
        if not entries and not chapters:
            return None
        prefixes: list[str] = []
        ranges: list[CodeRange] = []
        for i, entry in enumerate(entries):
            low, _, high = entry.replace(".", "").partition("-")
            if not high:
                prefixes.append(low)
            elif low > high:
                self.problem([*path, "diagnoses", i], f"range {entry!r} starts after it ends")
            else:
                ranges.append(CodeRange(low, high))
        return DiagnosisSet(tuple(prefixes), tuple(ranges), frozenset(str(c) for c in chapters))

    def rule(
        self, index: int, spec: Mapping[str, Any], info: PackInfo, scope: Mapping[str, Any]
    ) -> Rule:
        path: list[str | int] = ["rules", index]
        match = {**scope, **(spec.get("match") or {})}
        system = CodeSystem(match["code_system"]) if "code_system" in match else None
        codes, ranges = self.code_list([*path, "match", "codes"], match.get("codes", []), system)
        dates = match.get("service_dates") or {}
        window = DateWindow(
            self.date([*path, "match", "service_dates", "from"], dates.get("from")),
            self.date([*path, "match", "service_dates", "to"], dates.get("to")),
        )
        if window.start and window.end and window.end < window.start:
            self.problem([*path, "match", "service_dates"], "service_dates end before they start")
        age, units, amount = (
            _range(match.get("age")),
            _range(match.get("units")),
            _range(match.get("amount")),
        )
        for name, window_range in (("age", age), ("units", units), ("amount", amount)):
            if (
                window_range
                and window_range.minimum is not None
                and window_range.maximum is not None
                and window_range.minimum > window_range.maximum
            ):
                self.problem([*path, "match", name], f"{name} minimum is above its maximum")
        built_match = Match(
            payers=frozenset(match.get("payers", ())),
            plans=frozenset(match.get("plans", ())),
            lines_of_business=frozenset(
                LineOfBusiness(v) for v in match.get("lines_of_business", ())
            ),
            states=frozenset(match.get("states", ())),
            categories=frozenset(ServiceCategory(v) for v in match.get("categories", ())),
            code_system=system,
            codes=codes,
            code_ranges=ranges,
            modifiers=frozenset(match.get("modifiers", ())),
            places_of_service=frozenset(match.get("places_of_service", ())),
            units=units,
            amount=amount,
            age=age,
            sexes=frozenset(Sex(v) for v in match.get("sex", ())),
            diagnoses=self.diagnoses([*path, "match"], match),
            service_dates=window.intersect(info.effective),
        )
        return Rule(
            id=spec["id"],
            pack_id=info.id,
            layer=info.layer,
            description=spec["description"],
            match=built_match,
            outcome=self.outcome([*path, "outcome"], spec["outcome"], spec["id"]),
            priority=int(spec.get("priority", 0)),
            order=index,
            source=spec.get("source"),
        )

    def outcome(self, path: list[str | int], spec: Mapping[str, Any], rule_id: str) -> Outcome:
        criteria = None
        if "criteria" in spec:
            criteria = tuple(
                Criterion(c["id"], c["description"], c["fhirpath"], bool(c.get("gold_card", False)))
                for c in spec["criteria"]
            )
            for i, criterion in enumerate(criteria):
                for message in syntax_errors(criterion.expression):
                    self.problem(
                        [*path, "criteria", i, "fhirpath"],
                        f"criterion {criterion.id!r}: FHIRPath does not compile: {message}",
                    )
        timeframe = spec.get("decision_timeframe")
        validity = spec.get("approval_validity")
        docs = spec.get("documentation")
        return Outcome(
            covered=Covered(spec["covered"]) if "covered" in spec else None,
            pa_needed=PaNeeded(spec["pa_needed"]) if "pa_needed" in spec else None,
            doc_needed=DocNeeded(spec["doc_needed"]) if "doc_needed" in spec else None,
            doc_purposes=tuple(DocPurpose(v) for v in spec["doc_purpose"])
            if "doc_purpose" in spec
            else None,
            info_needed=tuple(InfoNeeded(v) for v in spec["info_needed"])
            if "info_needed" in spec
            else None,
            documentation=tuple(
                DocumentationItem(d["id"], d["title"], DocNeeded(d.get("kind", "clinical")))
                for d in docs
            )
            if docs is not None
            else None,
            lead_time_business_days=spec.get("lead_time_business_days"),
            decision_timeframe=DecisionTimeframe(
                timeframe["expedited_hours"],
                timeframe["standard_days"],
                timeframe.get("extension_days", 0),
            )
            if timeframe
            else None,
            approval_validity=ApprovalValidity(
                validity["days"], _number(validity["units"]) if "units" in validity else None
            )
            if validity
            else None,
            criteria=criteria,
            note=spec.get("note"),
        )
