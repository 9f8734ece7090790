"""Fuzzing: mutated corpus files may only ever produce the codec's own error type."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precert.interop.x12 import X12Error, parse
from precert.interop.x12.transactions import read
from precert.interop.x12.writer import acknowledge

CASES = int(os.environ.get("PRECERT_FUZZ_CASES", "10000"))
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "x12"
LOCAL = Path(__file__).resolve().parents[2] / "x12_cases"
CORPUS = tuple(
    p.read_bytes() for p in sorted([*SHARED.iterdir(), *LOCAL.iterdir()]) if p.name != "SOURCES.md"
)
_DELIMITERS = b"*:^~|>\x1d\r\n"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus file truncated, with delimiters swapped, segments dropped or doubled, or bytes
    overwritten; cheap to draw so the default run stays fast."""
    data = draw(st.sampled_from(CORPUS))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return data[: draw(st.integers(0, len(data)))]
    if kind == 1:
        old = draw(st.sampled_from(_DELIMITERS))
        new = draw(st.sampled_from(_DELIMITERS))
        return data.replace(bytes([old]), bytes([new]))
    if kind in (2, 3):
        segments = data.split(b"~")
        index = draw(st.integers(0, len(segments) - 1))
        if kind == 2:
            del segments[index]
        else:
            segments.insert(index, segments[index])
        return b"~".join(segments)
    mutable = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, max(len(mutable) - 1, 0)))
        if mutable:
            mutable[position] = draw(st.integers(0, 255))
    return bytes(mutable)


def _exercise(data: bytes) -> None:
    document = parse(data)
    for interchange in document.interchanges:
        for group in interchange.groups:
            acknowledge(group)
            for transaction in group.transactions:
                try:
                    read(transaction)
                except X12Error:
                    continue
    try:
        document.raise_for_errors()
    except X12Error:
        return


@pytest.mark.fuzz
@settings(
    max_examples=CASES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated())
def test_mutations_raise_only_x12_errors(data: bytes) -> None:
    """Parsing, acknowledging and reading any mutation raises nothing but X12Error."""
    _exercise(data)


@pytest.mark.fuzz
@settings(max_examples=max(CASES // 10, 100), deadline=None, database=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_x12_errors(data: bytes) -> None:
    """Arbitrary bytes, with or without an ISA-like prefix, never crash the codec."""
    _exercise(data)
    _exercise(CORPUS[0][:106] + data)


_CLEAN = tuple(
    data
    for data in CORPUS
    if data.startswith(b"ISA") and not any(e.element_code == "6" for e in parse(data).problems())
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    data=st.sampled_from(_CLEAN),
    where=st.floats(0.3, 0.95),
    control=st.sampled_from([0x00, 0x01, 0x07, 0x0B, 0x1F, 0x7F]),
)
def test_a_control_character_is_named_as_an_invalid_character(
    data: bytes, where: float, control: int
) -> None:
    """A control character inside a transaction's element is IK403 6 on that element."""
    document = parse(data)
    separator = document.interchanges[0].delimiters.element.encode()
    if bytes([control]) in data:
        return  # this file uses it as a delimiter
    # After the fixed-width ISA, whose 106th character would otherwise be displaced.
    position = data.index(separator, max(int(len(data) * where), 107)) + 1
    mutated_data = data[:position] + bytes([control]) + data[position:]
    found = [e for e in parse(mutated_data).problems() if "control character" in e.message]
    assert found, "the control character went unreported"
    hit = found[0]
    if hit.element_code == "6":
        assert f"U+{control:04X}" in hit.message
        assert hit.position > 0
        assert hit.element > 0
