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
