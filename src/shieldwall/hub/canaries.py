"""Canaries: secret addresses the hub knows to be benign, and never publishes.

The operator lists them in ``<hub data>/canaries.txt`` (one address or CIDR per
line, ``#`` comments; keep the file mode 0600). They are protected like any
never-block entry, but they are also a trap: no honest detection names an
address that never talks to anyone, so a member that reports one is quarantined
(its signals stop counting) and the council is told (a journal record, see
:mod:`shieldwall.hub.trust`). They are not part of the policy file, which the
alliance shares; only the hub holds them.
"""

from __future__ import annotations

from pathlib import Path

from shieldwall.addresses import Ranges, parse_ranges
from shieldwall.errors import ConfigError

CANARY_FILE = "canaries.txt"
LABEL = "canary"


def parse_canaries(text: str) -> Ranges:
    """Canaries from the file's text (errors name the line)."""
    return parse_ranges(text, LABEL, widen=False)


def load_canaries(data_dir: Path) -> Ranges:
    """The hub's canaries (none when the file does not exist)."""
    path = data_dir / CANARY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Ranges()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_canaries(text)
