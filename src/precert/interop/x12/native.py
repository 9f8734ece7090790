"""The native reader of clean X12 (``_native.c``): its tables and how the parser loads it.

The C reader interprets tables built here from the very specs (``segments.py``) and
loop grammars (``grammar.py``) the Python parser uses, so no rule of the business is
written twice: the C file mirrors the parser's clean path, and the parser keeps every
message. It is built only into the compiled wheel (``make wheel``); without it, and for
any input it declines, ``parse`` is the Python parser alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from precert.interop.x12 import codes as x12codes
from precert.interop.x12.grammar import GRAMMARS, LoopSpec
from precert.interop.x12.model import (
    Delimiters,
    Document,
    FunctionalGroup,
    Interchange,
    TransactionSet,
    new_loop,
    new_segment,
)
from precert.interop.x12.segments import SEGMENT_SPECS, ElementSpec

#: What the C reader is: a function from text and its delimiters to the clean document,
#: or None when the text holds anything the Python parser would report.
NativeRead = Callable[[str, Delimiters], Document | None]

_View = TypeVar("_View", bound=tuple[object, ...])


class RecordMaker(Protocol):
    """Makes a typed view (a NamedTuple) from every one of its fields, in order."""

    def __call__(self, view: type[_View], /, *fields: object) -> _View: ...


def _record(view: type[_View], /, *fields: object) -> _View:
    """What a NamedTuple's generated ``__new__`` does, without its Python-level frame."""
    return tuple.__new__(view, fields)


_ElementTable = tuple[int, int, int, bool, tuple[str, ...] | None, int, tuple[object, ...]]


def _element(spec: ElementSpec) -> _ElementTable:
    codes = tuple(sorted(spec.codes)) if spec.codes is not None else None
    parts = tuple(_element(part) for part in spec.components)
    return (spec.kind, spec.lo, spec.hi, spec.required, codes, spec.repeat, parts)


def _loop_specs() -> list[LoopSpec]:
    """Every loop spec of every grammar, each once, in a stable order."""
    found: dict[int, LoopSpec] = {}
    pending = [g.header for g in GRAMMARS.values()]
    pending += [spec for g in GRAMMARS.values() for spec in g.levels.values()]
    while pending:
        spec = pending.pop(0)
        if id(spec) not in found:
            found[id(spec)] = spec
            pending.extend(spec.children)
    return list(found.values())


def tables(
    *, response_set: str, response_purpose: str, response_only: Iterable[str], response_levels: int
) -> tuple[object, ...]:
    """The arguments of ``_native.configure``, from the specs and grammars.

    The ``response_*`` facts are the parser's: which set has responses that alone carry
    ``response_only`` segments and need only the first ``response_levels`` HL levels.
    """
    specs = _loop_specs()
    index = {id(spec): number for number, spec in enumerate(specs)}
    ids = set(SEGMENT_SPECS)
    for spec in specs:
        ids.add(spec.trigger)
        ids.update(spec.segments)
    sids = tuple(sorted(ids))
    sid = {name: number for number, name in enumerate(sids)}
    loop_numbers = {loop_id: n for n, loop_id in enumerate(sorted({s.loop_id for s in specs}))}
    segments = tuple(
        (
            sid[name],
            tuple(_element(es) for es in spec.elements),
            spec.paired,
            spec.conditional,
        )
        for name, spec in SEGMENT_SPECS.items()
    )
    loops = tuple(
        (
            spec.loop_id,
            loop_numbers[spec.loop_id],
            spec.loop_id == "HEADER",
            sid[spec.trigger],
            tuple(spec.qualifiers) if spec.qualifiers is not None else None,
            tuple((sid[name], most) for name, most in spec.segments.items()),
            tuple((sid[name], limit) for name, limit in spec.members.items()),
            tuple(
                (
                    sid[name],
                    tuple((q, index[id(child)]) for q, child in table.items() if q),
                    index[id(table[""])] if "" in table else -1,
                )
                for name, table in spec.opens.items()
            ),
            tuple(
                (sid[name], tuple(index[id(child)] for child in children))
                for name, children in spec.triggers.items()
            ),
            tuple(
                (sid[name], tuple((at, tuple(allowed)) for at, allowed in rules))
                for name, rules in spec.restrictions.items()
            ),
            sid[spec.closer] if spec.closer else -1,
            tuple(
                (is_loop, -1 if is_loop else sid.get(need, -1), loop_numbers.get(need, -1))
                for need, is_loop in spec.required_kinds
            ),
        )
        for spec in specs
    )
    grammars = tuple(
        (
            set_id,
            x12codes.CONVENTIONS[set_id],
            x12codes.FUNCTIONAL_IDS[set_id],
            index[id(grammar.header)],
            tuple(
                (level, index[id(spec)], tuple(parents))
                for level, (spec, parents) in grammar.placements.items()
            ),
            grammar.required_levels,
            response_levels if set_id == response_set else len(grammar.required_levels),
            tuple(grammar.purposes),
            tuple(sid[name] for name in response_only) if set_id == response_set else (),
            response_purpose,
        )
        for set_id, grammar in GRAMMARS.items()
    )
    types = (Document, Interchange, FunctionalGroup, TransactionSet, new_loop, new_segment)
    return sids, segments, loops, grammars, tuple(x12codes.FUNCTIONAL_IDS.values()), types


def _switched_off() -> bool:
    """``PRECERT_X12_NATIVE=0`` leaves the native code out, to measure or debug without it."""
    return os.environ.get("PRECERT_X12_NATIVE") == "0"


def record_maker() -> RecordMaker:
    """The C record maker when built (it skips the intermediate fields tuple), else ours."""
    if not _switched_off():
        try:
            from precert.interop.x12._native import record
        except ImportError:
            pass
        else:
            return record
    return _record


def load(
    *, response_set: str, response_purpose: str, response_only: Iterable[str], response_levels: int
) -> NativeRead | None:
    """The configured native reader, or None when it was not built or is switched off."""
    if _switched_off():
        return None
    try:
        from precert.interop.x12 import _native
    except ImportError:
        return None
    _native.configure(
        *tables(
            response_set=response_set,
            response_purpose=response_purpose,
            response_only=response_only,
            response_levels=response_levels,
        )
    )
    return _native.read
