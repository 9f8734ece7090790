"""Types of the C module ``_native.c`` (built only into the compiled wheel)."""

from typing import TypeVar

from precert.interop.x12.model import Delimiters, Document

_View = TypeVar("_View", bound=tuple[object, ...])

def configure(
    sids: object,
    segments: object,
    loops: object,
    grammars: object,
    functional: object,
    types: object,
    /,
) -> None: ...
def read(text: str, delimiters: Delimiters, /) -> Document | None: ...
def record(view: type[_View], /, *fields: object) -> _View: ...
