"""The native reader (``_native.c``) held to the Python parser it mirrors.

Whenever the native reader accepts an input, the Python parser must find no problem in
it and build an equal document; and it must accept every clean corpus file it is meant
to read, or it would silently stop paying off. The reader is only in the compiled wheel,
so these tests run in ``make test-compiled``: elsewhere there is nothing to compare, and
they are not collected.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precert.domain.authorization import AuthorizationRequest
from precert.interop.x12 import parse
from precert.interop.x12.codes import INQUIRY_CONVENTION
from precert.interop.x12.mapping import RequestContext, review_request, review_response
from precert.interop.x12.model import Document
from precert.interop.x12.parser import NATIVE_READER, read_clean
from precert.interop.x12.writer import Envelope, envelope, wrap_set, write_278
from tests.unit.x12.strategies import CREATED, determinations, requests
from tests.unit.x12.test_fuzz import CORPUS, mutated

# tests/conftest.py collects this module only where the reader is built.
if os.environ.get("PRECERT_EXPECT_COMPILED") == "1":
    assert NATIVE_READER is not None, "the compiled build must hold the native reader"

_SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "x12"
_RESPONSE = "X217-admission-response-to-request-for-review.edi"
_BENEFITS = "subscriber-health-benefit-check.271"
ENV = Envelope(sender="PRECERT", receiver="PAYER", date="20240601", time="0930")
CLEAN = tuple(data for data in CORPUS if not parse(data, accelerated=False).problems())


def shape(document: Document) -> list[object]:
    """Everything a document holds, in comparable form (problems as their messages)."""
    found: list[object] = [[e.describe() for e in document.errors]]
    for interchange in document.interchanges:
        found.append((interchange.header, interchange.delimiters))
        found.append([e.describe() for e in interchange.errors])
        for group in interchange.groups:
            found.append(
                (group.functional_id, group.sender, group.receiver, group.date, group.time)
            )
            found.append((group.control_number, group.version))
            found.append([e.describe() for e in group.errors])
            for t in group.transactions:
                found.append((t.set_id, t.control_number, t.convention, t.delimiters))
                found.append((t.segment_count, t.root.signature()))
                found.append([(s.id, s.position) for loop in t.root.walk() for s in loop.segments])
                found.append([e.describe() for e in t.errors])
    return found


def assert_mirrors(data: str | bytes) -> Document | None:
    """The native reader's verdict on ``data`` agrees with the Python parser's."""
    fast = read_clean(data)
    slow = parse(data, accelerated=False)
    if fast is not None:
        assert not slow.problems(), [p.describe() for p in slow.problems()]
        assert shape(fast) == shape(slow)
    assert shape(parse(data)) == shape(slow)
    return fast


@pytest.mark.parametrize("data", CORPUS, ids=range(len(CORPUS)))
def test_corpus_files_read_alike(data: bytes) -> None:
    """Every corpus file, clean or not, gives the same document either way."""
    assert_mirrors(data)


@pytest.mark.parametrize("data", CLEAN, ids=range(len(CLEAN)))
def test_clean_corpus_files_are_read_natively(data: bytes) -> None:
    """Clean files are the native reader's to read, except X215 inquiries (by design)."""
    inquiry = INQUIRY_CONVENTION.encode() in data
    assert (assert_mirrors(data) is not None) is not inquiry


def test_natively_read_loop_trees_are_left_to_reference_counting() -> None:
    """The loops, segments and their tuples are untracked: the GC never walks a parse tree.
    The transaction set, which holds a mutable list of errors, stays tracked."""
    document = read_clean((_SHARED / _BENEFITS).read_bytes())
    assert document is not None
    transaction = document.transactions[0]
    loops = list(transaction.root.walk())
    segments = [segment for loop in loops for segment in loop.segments]
    assert segments
    assert len(loops) > 1
    assert all(type(s.elements) is tuple for s in segments)
    assert not any(gc.is_tracked(s) or gc.is_tracked(s.elements) for s in segments)
    assert not any(gc.is_tracked(loop) or gc.is_tracked(loop.segments) for loop in loops)
    assert not any(gc.is_tracked(loop.children) for loop in loops)
    assert gc.is_tracked(transaction)


def test_coded_values_are_the_code_tables_own_strings() -> None:
    """A value found in its element's code list is shared from the tables, the same object
    in every document; any other value is a string of its own."""

    def first_nm1(document: Document | None) -> tuple[str, ...]:
        assert document is not None
        root = document.transactions[0].root
        return next(s.elements for loop in root.walk() for s in loop.segments if s.id == "NM1")

    data = (_SHARED / _BENEFITS).read_bytes()
    one, other = first_nm1(read_clean(data)), first_nm1(read_clean(data))
    assert one[8] == "PI"  # NM108, from the identification code qualifiers
    assert one[8] is other[8]
    assert one[3] == other[3] == "ABC COMPANY"
    assert one[3] is not other[3]


@settings(max_examples=1000, deadline=None, database=None)
@given(mutated())
def test_mutated_files_read_alike(data: bytes) -> None:
    """Truncated, re-delimited, shuffled or overwritten files: the same verdict either way."""
    assert_mirrors(data)


_VALUES = st.one_of(
    st.just(""),
    st.sampled_from(["1", "01", "11", "13", "D8", "RD8", "20240229", "20230229", "2359", "-1.5"]),
    st.sampled_from(["20240101-20240131", "20240301-20240201", "20240101-", "Y", "N", "2.5."]),
    st.text(alphabet="0123456789ABCXYZ .-:^", max_size=12),
)


@st.composite
def edited(draw: st.DrawFn) -> str:
    """A clean corpus file with one element of one segment replaced, or a segment repeated,
    dropped or moved: mostly near misses, the cases a mirror is likeliest to get wrong."""
    text = draw(st.sampled_from(CLEAN)).decode("latin-1")
    element, terminator = text[3], text[105]
    segments = text.split(terminator)
    index = draw(st.integers(1, max(len(segments) - 2, 1)))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        parts = segments[index].split(element)
        at = draw(st.integers(1, len(parts)))
        value = draw(_VALUES)
        parts[at:at + 1] = [value]  # fmt: skip
        segments[index] = element.join(parts)
    elif kind == 1:
        segments.insert(index, segments[index])
    elif kind == 2:
        del segments[index]
    else:
        moved = segments.pop(index)
        segments.insert(draw(st.integers(1, len(segments) - 1)), moved)
    return terminator.join(segments)


@settings(max_examples=3000, deadline=None, database=None)
@given(edited())
def test_near_misses_read_alike(text: str) -> None:
    """One element, segment or position off: the native reader declines what the parser
    would report, and reads the rest as the parser does."""
    assert_mirrors(text)


@settings(max_examples=100, deadline=None, database=None)
@given(requests(), st.data())
def test_generated_278s_are_read_natively(
    pair: tuple[AuthorizationRequest, RequestContext], data: st.DataObject
) -> None:
    """The 278 requests and responses precert writes are clean, so read natively."""
    request, _ = pair
    if data.draw(st.booleans()):
        review = review_request(request, submitter_id="1999999999")
    else:
        decided = {i: data.draw(determinations()) for i in range(len(request.service_lines))}
        review = review_response(request, decided, submitter_id="1999999999", answered_at=CREATED)
    text = envelope([("278", wrap_set("278", "0001", write_278(review)))], ENV)
    assert assert_mirrors(text) is not None


@pytest.mark.parametrize(
    ("name", "segment", "variant", "clean"),
    [
        # DTP03 by DTP02 (parser._period_ok), mirrored by hand in the C reader
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*D8*20240229", True),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*D8*20230229", False),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*RD8*20240101-20240131", True),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*RD8*20240101-20240101", True),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*RD8*20240301-20240201", False),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*RD8*20240101", False),
        (_RESPONSE, "DTP*435*D8*20050516", "DTP*435*RD8*20240101-20241301", False),
        # DMG02 when DMG01 is D8 (parser._birth_date_ok)
        (_BENEFITS, "DMG*D8*19630519*M", "DMG*D8*19630229*M", False),
        (_BENEFITS, "DMG*D8*19630519*M", "DMG*D8*19640229*M", True),
        (_BENEFITS, "DMG*D8*19630519*M", "DMG***M", True),
    ],
)
def test_date_rules_read_alike(name: str, segment: str, variant: str, clean: bool) -> None:
    """The date checks the parser adds to DTP and DMG hold in the native reader too."""
    text = (_SHARED / name).read_text()
    assert segment in text
    fast = assert_mirrors(text.replace(segment, variant))
    assert (fast is not None) is clean


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1f", "\x7f", "\n", " "])
def test_every_byte_of_a_scanned_word_is_looked_at(character: str) -> None:
    """The reader scans for control characters eight bytes at a time; one in any of the
    eight places is still seen (a control character declined, a line break or a space after
    a terminator stripped), as the parser sees it."""
    text = (_SHARED / _BENEFITS).read_text()
    start = text.index("NM1*IL")
    for offset in range(start, start + 16):
        fast = assert_mirrors(text[:offset] + character + text[offset:])
        if character not in "\n ":
            assert fast is None, offset


def test_a_repeated_control_number_among_many_sets_is_declined() -> None:
    """ST02 must be unique in its group: found among hundreds of sets, as the parser does."""
    text = (_SHARED / _BENEFITS).read_text()
    segments = [s.strip() for s in text.split("~")]
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    body = "~".join(segments[start + 1 : end])

    def group(controls: list[str]) -> str:
        sets = "".join(
            f"ST*271*{c}*005010X279A1~{body}~SE*{end - start + 1}*{c}~" for c in controls
        )
        head = "~".join(segments[:start])
        trailer = f"GE*{len(controls)}*{segments[start - 1].split('*')[6]}~{segments[-2]}~"
        return f"{head}~{sets}{trailer}"

    distinct = [f"{n:04d}" for n in range(1, 301)]
    assert assert_mirrors(group(distinct)) is not None
    repeated = group([*distinct, "0150"])
    assert assert_mirrors(repeated) is None
    assert [p.message for p in parse(repeated).problems()] == [
        "ST02 control number is not unique within the group"
    ]
