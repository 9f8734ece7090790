"""Build hook: with PRECERT_COMPILE=1 the X12 codec's core is compiled with mypyc, and the
native reader of clean interchanges (``_native.c``, see ``native.py``) is built beside it.

Everything else about the package is declared in pyproject.toml. The compiled modules
are the same source files and the native reader only takes over inputs the Python parser
would find clean, so a build without a C compiler (or without the variable) is the
pure-Python codec, identical in behaviour and about a quarter of the speed. Compiling
needs mypy where the build runs, hence ``pip wheel --no-build-isolation`` with the dev
extras installed (``make wheel`` does it).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

#: The codec modules on the parse and generate paths. Not the mapping to the domain,
#: the CLI or the check generator: they are not hot, and import non-codec code.
CODEC = (
    "codes",
    "errors",
    "model",
    "segments",
    "segment_checks",
    "grammar",
    "parser",
    "transactions",
    "writer",
)


def extensions() -> list[Extension]:
    """The mypyc extensions and the native reader when PRECERT_COMPILE=1, else none."""
    if os.environ.get("PRECERT_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    native_reader = Extension(
        "precert.interop.x12._native",
        ["src/precert/interop/x12/_native.c"],
        extra_compile_args=["-O2", "-Wall"],
    )
    compiled = mypycify(
        [f"src/precert/interop/x12/{module}.py" for module in CODEC],
        opt_level="3",
        group_name="precert_x12",
    )
    return [*compiled, native_reader]


setup(ext_modules=extensions())
