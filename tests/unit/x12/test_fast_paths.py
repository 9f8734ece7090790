"""The codec's fast paths agree with the slow paths that explain them.

A valid segment is only ever checked by generated code (``segment_checks.ACCEPTS``, and the
parser's ``_PLACED_CHECKS`` with the DTP/DMG date rules folded in); the interpreted
checker runs only when that code says no. These properties pin the two together: the
fast check accepts a segment exactly when the slow path finds nothing to report.
The whole-text control-character test has a bytes shortcut beside its pattern, and the
two must agree. Typed views are built with ``tuple.__new__``, which skips the arity check
a NamedTuple constructor makes, so every view read from the corpus is checked for its
field count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precert.interop.x12 import Delimiters, Segment, TransactionSet, X12Error, checkgen, parse
from precert.interop.x12.grammar import GRAMMARS
from precert.interop.x12.parser import (
    _PLACED_CHECKS,
    _control_characters,
    _holds_any,
    _LoopBuilder,
)
from precert.interop.x12.segment_checks import ACCEPTS
from precert.interop.x12.segments import (
    COMPOSITE,
    DT,
    N0,
    SEGMENT_SPECS,
    TM,
    ElementSpec,
    R,
    explain_segment,
    valid_date,
    valid_time,
)
from precert.interop.x12.transactions import read

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "x12"
LOCAL = Path(__file__).resolve().parents[2] / "x12_cases"
CORPUS = tuple(
    p.read_bytes() for p in sorted([*SHARED.iterdir(), *LOCAL.iterdir()]) if p.name != "SOURCES.md"
)

_DATES = ("20240229", "20230229", "21000229", "20000229", "20241131", "20241301", "20240100")
_TIMES = ("2359", "2400", "1260", "123", "12345", "123459", "123460", "1234567", "12345678")
_TEXT = st.text(alphabet="AZ09 .-²", max_size=8)


def _simple(spec: ElementSpec) -> st.SearchStrategy[str]:
    """Values around what ``spec`` allows: empty, valid, and wrong in each checked way."""
    pools: list[st.SearchStrategy[str]] = [
        st.just(""),
        _TEXT,
        st.integers(1, spec.hi + 1).map(lambda n: "A" * n),
        st.text(alphabet="0123456789", min_size=1, max_size=spec.hi + 1),
    ]
    if spec.codes:
        pools.append(st.sampled_from(sorted(spec.codes)))
    if spec.kind in (N0, R):
        pools.append(st.from_regex(r"-?[0-9]{0,3}\.?[0-9]{0,3}", fullmatch=True))
    if spec.kind == DT:
        pools.append(st.sampled_from(_DATES))
    if spec.kind == TM:
        pools.append(st.sampled_from(_TIMES))
    return st.one_of(pools)


def _element(spec: ElementSpec) -> st.SearchStrategy[str]:
    """A whole element: repetitions (joined by ``^``) of a value or a composite."""
    if spec.kind == COMPOSITE:
        parts = list(spec.components)
        value = st.lists(st.one_of([_simple(p) for p in parts]), max_size=len(parts) + 1).map(
            ":".join
        )
    else:
        value = _simple(spec)
    if spec.repeat > 1:
        return st.lists(value, min_size=1, max_size=4).map("^".join)
    return value


@st.composite
def _segments(draw: st.DrawFn, segment_id: str) -> tuple[str, ...]:
    """A segment with some elements left off or added past the last one."""
    specs = SEGMENT_SPECS[segment_id].elements
    count = draw(st.integers(0, len(specs) + 1))
    values = [draw(_element(specs[i])) if i < len(specs) else draw(_TEXT) for i in range(count)]
    return (segment_id, *values)


def test_generated_checks_are_current() -> None:
    """``segment_checks.py`` is what the generator writes for today's specs."""
    written = checkgen.TARGET.read_text(encoding="utf-8")
    assert written == checkgen.module_source(), (
        "segment_checks.py is stale: run python -m precert.interop.x12.checkgen"
    )


@pytest.mark.parametrize("segment_id", sorted(SEGMENT_SPECS))
@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data(), repetition=st.sampled_from(["^", ""]))
def test_generated_check_accepts_what_the_interpreter_finds_clean(
    segment_id: str, data: st.DataObject, repetition: str
) -> None:
    """``ACCEPTS`` says yes exactly when ``explain_segment`` reports nothing."""
    elements = data.draw(_segments(segment_id))
    found: list[X12Error] = []
    explain_segment(elements, SEGMENT_SPECS[segment_id], ":", repetition, 2, "L", found)
    assert ACCEPTS[segment_id](elements, ":", repetition) == (not found), (elements, found)


@pytest.mark.parametrize("segment_id", ["DTP", "DMG"])
@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data(), value=st.sampled_from([*_DATES, "20240101-20240102", "20240102-20240101"]))
def test_placed_check_accepts_what_the_builder_finds_clean(
    segment_id: str, data: st.DataObject, value: str
) -> None:
    """The parser's check (with the date rules folded in) matches its slow path."""
    drawn = list(data.draw(_segments(segment_id)))
    if data.draw(st.booleans()) and len(drawn) > 2:
        drawn[1] = data.draw(st.sampled_from(["D8", "RD8", "DB"]))
        drawn[2 if segment_id == "DMG" else 3 if len(drawn) > 3 else 2] = value
    elements = tuple(drawn)
    transaction = TransactionSet("278", "0001", "005010X217", Delimiters())
    builder = _LoopBuilder(transaction, GRAMMARS["278"], Delimiters())
    builder._explain(Segment(elements, 2), "2000E")
    accepted = _PLACED_CHECKS[segment_id](elements, ":", "^")
    assert accepted == (not transaction.errors), (elements, transaction.errors)


def _reference_date(value: str) -> bool:
    """CCYYMMDD validity computed the slow, obvious way."""
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return False
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _reference_time(value: str) -> bool:
    """HHMM[SS[d[d]]] validity computed the slow, obvious way."""
    if len(value) not in (4, 6, 7, 8) or not (value.isascii() and value.isdigit()):
        return False
    seconds_ok = len(value) < 6 or int(value[4:6]) <= 59
    return int(value[:2]) <= 23 and int(value[2:4]) <= 59 and seconds_ok


@settings(max_examples=2000, deadline=None, database=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=3, max_size=9),
        st.sampled_from([*_DATES, *_TIMES]),
        st.dates().map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
        _TEXT,
    )
)
def test_date_and_time_checks_match_their_definitions(value: str) -> None:
    """The string-comparison date and time checks agree with integer arithmetic."""
    assert valid_date(value) == _reference_date(value)
    assert valid_time(value) == _reference_time(value)


def _views(value: object) -> list[tuple[object, ...]]:
    """Every NamedTuple inside ``value``, ``value`` included."""
    found: list[tuple[object, ...]] = []
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):
            found.append(value)
        for item in value:
            found.extend(_views(item))
    return found


@pytest.mark.parametrize("data", CORPUS, ids=range(len(CORPUS)))
def test_typed_views_carry_every_field(data: bytes) -> None:
    """Views built positionally have exactly their declared fields, in order."""
    for transaction in parse(data).transactions:
        if transaction.set_id not in ("270", "271", "278", "999"):
            continue
        try:
            typed: object = read(transaction)
        except X12Error:
            typed = None  # a set too malformed to read has no view to check
        for view in _views(typed):
            assert len(view) == len(view._fields), type(view).__name__  # type: ignore[attr-defined]


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.text(alphabet="AZ09*:^~|\t\r\n\x00\x01\x1d\x1f\x7f\x85é\u2028€", max_size=40),
    delimiters=st.sampled_from([Delimiters(), Delimiters("|", ">", "^", "\x1d")]),
)
def test_whole_text_control_check_matches_the_pattern(text: str, delimiters: Delimiters) -> None:
    """The bytes shortcut finds a control character exactly when the pattern does."""
    control, refused = _control_characters(delimiters)
    assert _holds_any(text, control, refused) == (control.search(text) is not None)
