"""Types of the C module ``_native.c`` (built only into the compiled wheel)."""

from precert.interop.x12.model import Delimiters, Document

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
