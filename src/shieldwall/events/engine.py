"""Which engine runs the events loop: compiled (PCRE2 JIT, ``_engine.c``) or pure Python.

The compiled engine is an optional C extension built with the package when a C
compiler, the Python headers and PCRE2's headers are present (Debian: ``gcc
python3-dev libpcre2-dev``); without them the package installs and runs the pure
Python loop of :mod:`shieldwall.events.stream`, as MarkupSafe and PyYAML do. Both
give the same events line by line (tests/events/test_engine_differential.py).

``SHIELDWALL_ENGINE=python`` in the environment forces the pure Python loop (to
compare, or to rule the extension out when something looks wrong).
"""

from __future__ import annotations

import os
import re
from types import ModuleType

#: The environment variable that forces an engine (``python``; anything else: the default).
ENV = "SHIELDWALL_ENGINE"


def _load() -> ModuleType | None:
    try:
        from shieldwall.events import _engine  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _engine  # type: ignore[no-any-return]


#: The compiled module, or ``None`` when it was not built here.
compiled: ModuleType | None = _load()


def wanted(engine: str = "auto") -> str:
    """The engine a stream asked for ``engine`` gets: ``"compiled"`` or ``"python"``.

    ``"auto"`` takes the compiled one when it is built and not turned off by
    :data:`ENV`; ``"compiled"`` insists (``RuntimeError`` when it is missing).
    """
    if engine == "python":
        return "python"
    if engine == "compiled":
        if compiled is None:
            raise RuntimeError("the compiled events engine is not built in this installation")
        return "compiled"
    if engine != "auto":
        raise ValueError(f"unknown engine {engine!r}: auto, compiled or python")
    if compiled is None or os.environ.get(ENV, "").lower() == "python":
        return "python"
    return "compiled"


def describe() -> str:
    """What runs, for a start-up line: ``compiled (PCRE2 10.42 JIT)`` or ``pure Python (...)``."""
    if compiled is None:
        return "pure Python (the compiled engine is not built: gcc, python3-dev, libpcre2-dev)"
    if wanted() == "python":
        return f"pure Python ({ENV}=python)"
    return f"compiled (PCRE2 {compiled.PCRE2_VERSION.split()[0]})"


#: The marker group the Scanner puts after each pattern (its name says which).
_MARKER = re.compile(rb"\(\?P<p_\d+>\)")
#: Trailers that always match at a line's end (every FORMATS trailer is one of these).
_TRAILERS = (rb"[ \t]*\r?$", rb"(?: ?\])?[ \t]*\r?$")
_REST_OF_LINE = (rb".*", rb"[^\n]*")
_OPTIONAL_REST = rb"(?:[ \r][^\n]*)?"
#: An inline DOTALL flag: then ``.*`` could run over newlines (no pattern is cut short).
_DOTALL = re.compile(rb"\(\?[a-zA-Z-]*s")


def _outside_classes(source: bytes) -> set[int]:
    """Offsets of the bytes of ``source`` that are regex syntax: not escaped, not in a class."""
    syntax: set[int] = set()
    i, n, in_class, class_body = 0, len(source), False, 0
    while i < n:
        c = source[i]
        if c == 0x5C:  # a backslash takes the next byte with it
            i += 2
            continue
        if in_class:
            if c == 0x5D and i > class_body:  # "]" closes (not as the class's first byte)
                in_class = False
        elif c == 0x5B:  # "["
            syntax.add(i)
            in_class = True
            class_body = i + 1 + (i + 1 < n and source[i + 1] == 0x5E)  # after "[" or "[^"
        else:
            syntax.add(i)
        i += 1
    return syntax


def pcre2_source(source: bytes) -> tuple[bytes, bool]:
    """The Scanner's regex for PCRE2, a pattern's scan to the line end cut short.

    A pattern that ends with ``.*`` or ``[^\\n]*`` (or ``(?:[ \\r][^\\n]*)?``) has
    matched once it reaches that point: the rest runs to the line end, where the
    trailer always matches. PCRE2 stops there (``(*ACCEPT)``, the pattern's marker
    set just before, which PCRE2 unsets again if the pattern backtracks), instead of
    walking the rest of the line byte by byte; the match then ends at the line end,
    as every match of a regex that ends with ``$`` does. Returns (source, whether any
    pattern was cut: the caller then takes the line end as the match's end). Python's
    re reads the original; the differential test holds both to the same events.
    """
    if not any(source.endswith(b")" + t) for t in _TRAILERS) or _DOTALL.search(source):
        return source, False
    syntax = _outside_classes(source)
    out, last, cut = [], 0, False
    for m in _MARKER.finditer(source):
        start = m.start()
        head = source[last:start]
        replacement = None
        for rest in _REST_OF_LINE:
            begin = start - len(rest)
            # "." or "[" opens the token and "*" closes it, both as syntax
            if head.endswith(rest) and {begin, start - 1} <= syntax:
                replacement = m.group() + b"(*ACCEPT)"
                break
        else:
            begin = start - len(_OPTIONAL_REST)
            if head.endswith(_OPTIONAL_REST) and {begin, begin + 3, begin + 8, start - 3, start - 2,
                                                  start - 1} <= syntax:
                replacement = m.group() + rb"(?:[ \r](*ACCEPT))?"
        if start not in syntax or replacement is None:
            continue
        out += [source[last:begin], replacement]
        last = m.end()
        cut = True
    out.append(source[last:])
    return b"".join(out), cut
