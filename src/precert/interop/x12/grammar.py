"""Loop structure of each supported transaction set, as lookup tables.

A ``LoopSpec`` says which segment starts a loop (its trigger, optionally
restricted by the trigger's first element, e.g. NM101 entity codes), which
segments the loop may hold and how often, which child loops it may open,
which segment closes it (LE for the 2120 LS/LE wrapper) and which codes the
TR3 allows at that loop (AAA03/AAA04). HL-based sets (270/271/278) place their
2000-level loops by HL03, so ``Grammar.levels`` maps each hierarchical level
code to its loop and the levels it may sit under.

Simplifications, deliberate and documented in docs/x12.md: segment order
inside a loop is not enforced (only membership and maximum use), and the
271 2120 loop is represented as one node from LS to LE holding its NM1 groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from precert.interop.x12.codes import AAA_FOLLOW_UPS_BY_LOOP, AAA_REASONS_BY_LOOP


class LoopSpec:
    """One loop: trigger, member segments with maximum use, children, code restrictions."""

    __slots__ = (
        "children",
        "closer",
        "loop_id",
        "members",
        "opens",
        "qualifiers",
        "required",
        "required_kinds",
        "restrictions",
        "segments",
        "trigger",
        "triggers",
    )

    def __init__(
        self,
        loop_id: str,
        trigger: str,
        segments: Mapping[str, int],
        *,
        qualifiers: str = "",
        children: tuple[LoopSpec, ...] = (),
        required: tuple[str, ...] = (),
        closer: str = "",
        restrictions: Mapping[str, tuple[tuple[int, frozenset[str]], ...]] | None = None,
    ) -> None:
        self.loop_id = loop_id
        self.trigger = trigger
        self.qualifiers = frozenset(qualifiers.split()) if qualifiers else None
        self.segments = dict(segments)
        self.children = children
        self.required = required
        self.closer = closer
        self.restrictions = dict(restrictions or {})
        # Child loops by the segment id that opens them, for one dict lookup per segment.
        by_trigger: dict[str, list[LoopSpec]] = {}
        for child in children:
            by_trigger.setdefault(child.trigger, []).append(child)
        self.triggers = {k: tuple(v) for k, v in by_trigger.items()}
        # The parser's hot path, precomputed: segments that can only mean "one more member of
        # this loop" (never a child trigger) with their maximum use. A member that needs more
        # than counting when it arrives (code restrictions, the closing segment) gets 0, so
        # the one "over the limit?" comparison also sends it down the slow path.
        watched = set(self.restrictions) | ({closer} if closer else set())
        self.members = {
            k: 0 if k in watched else v for k, v in self.segments.items() if k not in self.triggers
        }
        # The child loop a trigger opens, by trigger id and then by its first element, as
        # ``_place`` would pick it (the first child accepting that qualifier); key "" holds
        # the first child accepting any qualifier, used for every other value.
        self.opens: dict[str, dict[str, LoopSpec]] = {}
        for sid, candidates in self.triggers.items():
            table: dict[str, LoopSpec] = {}
            for child in reversed(candidates):
                for qualifier in child.qualifiers if child.qualifiers is not None else ("",):
                    table[qualifier] = child
                if child.qualifiers is None:
                    # An earlier accept-anything child wins over later qualified ones.
                    table = dict.fromkeys(table, child)
            self.opens[sid] = table
        # Required entries tagged as child loop (True) or segment (False), in declared order.
        self.required_kinds = tuple((need, need[:1].isdigit()) for need in required)

    def accepts_trigger(self, elements: tuple[str, ...]) -> bool:
        """Whether a trigger segment's qualifier (its first element) fits this loop."""
        if self.qualifiers is None:
            return True
        return len(elements) > 1 and elements[1] in self.qualifiers


class Grammar:
    """A transaction set's structure: header loop and hierarchical levels."""

    __slots__ = (
        "header",
        "known_segments",
        "levels",
        "parents",
        "placements",
        "purposes",
        "required_levels",
        "set_id",
    )

    def __init__(
        self,
        set_id: str,
        header: LoopSpec,
        levels: Mapping[str, LoopSpec] | None = None,
        parents: Mapping[str, frozenset[str]] | None = None,
        required_levels: tuple[str, ...] = (),
        purposes: frozenset[str] = frozenset(),
    ) -> None:
        self.set_id = set_id
        # BHT02 values this convention uses (empty: no BHT); checked once per set.
        self.purposes = purposes
        self.header = header
        self.levels = dict(levels or {})
        self.parents = dict(parents or {})
        self.required_levels = required_levels
        # Per HL03 level: its loop and the parent levels it may sit under, in one lookup.
        self.placements = {
            level: (spec, self.parents.get(level, frozenset()))
            for level, spec in self.levels.items()
        }
        known: set[str] = {"ST", "SE"}
        pending = [header, *self.levels.values()]
        while pending:
            spec = pending.pop()
            known.add(spec.trigger)
            known.update(spec.segments)
            pending.extend(spec.children)
        self.known_segments = frozenset(known)


def _aaa(set_id: str, loop_id: str) -> dict[str, tuple[tuple[int, frozenset[str]], ...]]:
    return {
        "AAA": (
            (3, AAA_REASONS_BY_LOOP[(set_id, loop_id)]),
            (4, AAA_FOLLOW_UPS_BY_LOOP[(set_id, loop_id)]),
        )
    }


def _name_loop(
    set_id: str,
    loop_id: str,
    qualifiers: str,
    segments: Mapping[str, int],
    *,
    with_aaa: bool = True,
) -> LoopSpec:
    restrictions = _aaa(set_id, loop_id) if with_aaa and "AAA" in segments else None
    return LoopSpec(loop_id, "NM1", segments, qualifiers=qualifiers, restrictions=restrictions)


_PROVIDER_ROLES = "1T 71 72 73 77 AAJ DD DK DN FA G3 P3 QB QV SJ"
_PROVIDER_SEGMENTS = {"REF": 7, "N3": 1, "N4": 1, "PER": 1, "AAA": 9, "PRV": 1}

# X12 data element 353 (BHT02) values each convention uses. The element's own check accepts
# their union (segments.py); each grammar narrows it to its convention.
_278_PURPOSES = frozenset({"01", "06", "11", "13", "36"})  # as accepted before X215 was added
_INQUIRY_PURPOSES = frozenset({"28"})  # X215 inquiry; see docs/x12.md for the sources
_RESPONSE_PURPOSES = frozenset({"11"})
_ELIGIBILITY_PURPOSES = _278_PURPOSES


def _review_grammar(
    *,
    aaa_by_loop: bool,
    event_required: tuple[str, ...],
    purposes: frozenset[str],
    subscriber_segments: Mapping[str, int],
) -> Grammar:
    """The 278 loop tables: X217's, which X215 reuses (docs/x12.md says what differs).

    ``aaa_by_loop`` applies X217's per-loop AAA03/AAA04 lists (not established for X215);
    ``event_required`` is what a 2000E must hold; ``subscriber_segments`` the 2000C/2000D
    members besides the name loop.
    """

    def name_loop(loop_id: str, qualifiers: str, segments: Mapping[str, int]) -> LoopSpec:
        return _name_loop("278", loop_id, qualifiers, segments, with_aaa=aaa_by_loop)

    def aaa(loop_id: str) -> dict[str, tuple[tuple[int, frozenset[str]], ...]] | None:
        return _aaa("278", loop_id) if aaa_by_loop else None

    return Grammar(
        "278",
        LoopSpec("HEADER", "ST", {"BHT": 1}, required=("BHT",)),
        levels={
            "20": LoopSpec(
                "2000A",
                "HL",
                {"AAA": 9},
                children=(name_loop("2010A", "X3", {"REF": 1, "PER": 3, "AAA": 9}),),
                required=("2010A",),
                restrictions=aaa("2000A"),
            ),
            "21": LoopSpec(
                "2000B",
                "HL",
                {},
                children=(
                    name_loop(
                        "2010B",
                        "1P FA",
                        {"REF": 8, "N3": 1, "N4": 1, "PER": 1, "AAA": 9, "PRV": 1},
                    ),
                ),
                required=("2010B",),
            ),
            "22": LoopSpec(
                "2000C",
                "HL",
                subscriber_segments,
                children=(
                    name_loop(
                        "2010C", "IL", {"REF": 9, "N3": 1, "N4": 1, "AAA": 9, "DMG": 1, "INS": 1}
                    ),
                ),
                required=("2010C",),
            ),
            "23": LoopSpec(
                "2000D",
                "HL",
                subscriber_segments,
                children=(
                    name_loop(
                        "2010D", "QC", {"REF": 3, "N3": 1, "N4": 1, "AAA": 9, "DMG": 1, "INS": 1}
                    ),
                ),
                required=("2010D",),
            ),
            "EV": LoopSpec(
                "2000E",
                "HL",
                {
                    "TRN": 3,
                    "AAA": 9,
                    "UM": 1,
                    "HCR": 1,
                    "REF": 9,
                    "DTP": 9,
                    "HI": 1,
                    "HSD": 1,
                    "CRC": 9,
                    "CL1": 1,
                    "PWK": 10,
                    "MSG": 1,
                },
                children=(
                    name_loop("2010EA", _PROVIDER_ROLES, _PROVIDER_SEGMENTS),
                    _name_loop(
                        "278", "2010EB", "45 FS ND PW R3", {"N3": 1, "N4": 1}, with_aaa=False
                    ),
                    _name_loop("278", "2010EC", "X3", {"REF": 1}, with_aaa=False),
                ),
                required=event_required,
                restrictions=aaa("2000E"),
            ),
            "SS": LoopSpec(
                "2000F",
                "HL",
                {
                    "TRN": 3,
                    "AAA": 9,
                    "UM": 1,
                    "HCR": 1,
                    "REF": 9,
                    "DTP": 9,
                    "SV1": 1,
                    "SV2": 1,
                    "SV3": 1,
                    "TOO": 32,
                    "HSD": 1,
                    "PWK": 10,
                    "MSG": 1,
                },
                children=(name_loop("2010F", _PROVIDER_ROLES, _PROVIDER_SEGMENTS),),
                restrictions=aaa("2000F"),
            ),
        },
        parents={
            "20": frozenset({""}),
            "21": frozenset({"20"}),
            "22": frozenset({"21"}),
            "23": frozenset({"22"}),
            "EV": frozenset({"22", "23"}),
            "SS": frozenset({"EV"}),
        },
        required_levels=("20", "21", "22", "EV"),
        purposes=purposes,
    )


# 005010X217: 278 request for review and its response.
GRAMMAR_278 = _review_grammar(
    aaa_by_loop=True, event_required=("UM",), purposes=_278_PURPOSES, subscriber_segments={}
)

# 005010X215: 278 inquiry (BHT02 28) and its response (BHT02 11). Public inquiries carry a
# TRN at 2000C/2000D and may omit UM at 2000E; precert requires the 2000E trace in an
# inquiry (its own rule, docs/x12.md), since the response is matched to the inquiry by it.
GRAMMAR_278_INQUIRY = _review_grammar(
    aaa_by_loop=False,
    event_required=("TRN",),
    purposes=_INQUIRY_PURPOSES,
    subscriber_segments={"TRN": 3},
)
GRAMMAR_278_INQUIRY_RESPONSE = _review_grammar(
    aaa_by_loop=False,
    event_required=(),
    purposes=_RESPONSE_PURPOSES,
    subscriber_segments={"TRN": 3},
)

_RELATED_ENTITIES = "13 1I 1P 2B 36 73 FA GP GW I3 IL LR OC P3 P4 P5 PR PRP SEP TTP VER VN VY X3 Y2"


def _eligibility_grammar(set_id: str) -> Grammar:
    response = set_id == "271"

    def member(level: str, suffix: str, qualifiers: str) -> LoopSpec:
        name_segments = {
            "REF": 9,
            "N3": 1,
            "N4": 1,
            "PRV": 1,
            "DMG": 1,
            "INS": 1,
            "HI": 1,
            "DTP": 9 if response else 2,
        }
        if response:
            name_segments.update({"AAA": 9, "MPI": 1})
            detail = LoopSpec(
                f"2110{suffix}",
                "EB",
                {"HSD": 9, "REF": 9, "DTP": 20, "AAA": 9, "MSG": 10, "III": 10},
                children=(
                    LoopSpec(
                        f"2120{suffix}",
                        "LS",
                        {"NM1": 23, "N3": 23, "N4": 23, "PER": 69, "PRV": 23, "LE": 1},
                        closer="LE",
                    ),
                ),
                restrictions=_aaa("271", f"2110{suffix}"),
            )
        else:
            detail = LoopSpec(f"2110{suffix}", "EQ", {"AMT": 2, "III": 1, "REF": 1, "DTP": 1})
        name = LoopSpec(
            f"2100{suffix}",
            "NM1",
            name_segments,
            qualifiers=qualifiers,
            children=(detail,),
            restrictions=_aaa("271", f"2100{suffix}") if response else None,
        )
        return LoopSpec(
            f"2000{suffix}", "HL", {"TRN": 3}, children=(name,), required=(f"2100{suffix}",)
        )

    source_name = LoopSpec(
        "2100A",
        "NM1",
        {"PER": 3, "AAA": 9} if response else {},
        qualifiers="2B 36 GP P5 PR",
        restrictions=_aaa("271", "2100A") if response else None,
    )
    receiver_name = LoopSpec(
        "2100B",
        "NM1",
        {"REF": 9, "N3": 1, "N4": 1, "AAA": 9, "PRV": 1}
        if response
        else {"REF": 9, "N3": 1, "N4": 1, "PRV": 1},
        qualifiers="1P 2B 36 80 FA GP P5 PR",
        restrictions=_aaa("271", "2100B") if response else None,
    )
    return Grammar(
        set_id,
        LoopSpec("HEADER", "ST", {"BHT": 1}, required=("BHT",)),
        levels={
            "20": LoopSpec(
                "2000A",
                "HL",
                {"AAA": 9} if response else {},
                children=(source_name,),
                required=("2100A",),
                restrictions=_aaa("271", "2000A") if response else None,
            ),
            "21": LoopSpec("2000B", "HL", {}, children=(receiver_name,), required=("2100B",)),
            "22": member("22", "C", "IL"),
            "23": member("23", "D", "03"),
        },
        parents={
            "20": frozenset({""}),
            "21": frozenset({"20"}),
            "22": frozenset({"21"}),
            "23": frozenset({"22"}),
        },
        # A 271 may stop at 2000A/2000B when it rejects the request there (AAA).
        required_levels=("20",) if response else ("20", "21", "22"),
        purposes=_ELIGIBILITY_PURPOSES,
    )


GRAMMAR_270 = _eligibility_grammar("270")
GRAMMAR_271 = _eligibility_grammar("271")

# 005010X231A1: 999 implementation acknowledgment.
GRAMMAR_999 = Grammar(
    "999",
    LoopSpec(
        "HEADER",
        "ST",
        {"AK1": 1, "AK9": 1},
        children=(
            LoopSpec(
                "2000",
                "AK2",
                {"IK5": 1},
                children=(
                    LoopSpec(
                        "2100", "IK3", {"CTX": 10}, children=(LoopSpec("2110", "IK4", {"CTX": 10}),)
                    ),
                ),
                required=("IK5",),
            ),
        ),
        required=("AK1", "AK9"),
    ),
)

#: Grammar by transaction set identifier (ST01).
GRAMMARS: Mapping[str, Grammar] = MappingProxyType(
    {"270": GRAMMAR_270, "271": GRAMMAR_271, "278": GRAMMAR_278, "999": GRAMMAR_999}
)

#: Grammars for conventions other than the set's default (``codes.CONVENTIONS``), by
#: (ST01, ST03) and then by BHT02; key "" is the grammar for any other BHT02, whose
#: ``purposes`` then reports the value.
CONVENTION_GRAMMARS: Mapping[tuple[str, str], Mapping[str, Grammar]] = MappingProxyType(
    {
        ("278", "005010X215"): MappingProxyType(
            {"11": GRAMMAR_278_INQUIRY_RESPONSE, "": GRAMMAR_278_INQUIRY}
        )
    }
)
