"""Pattern packs: TOML data files that say how one service reports failures.

A pack names its log ``format`` (which header the service's lines carry), the
``program`` that writes them (syslog formats), and a list of patterns. Each
pattern is a regular expression over the message part of the line, a ``kind``
(what the detection stage counts), a ``role`` (how :mod:`.attempts` counts it),
and annotated sample lines that the test-suite checks. See ``packs/sshd.toml``.

Regexes may use these macros:

``<ADDR>``
    an IPv4 or IPv6 address as the service writes it (validated later);
``<PORT>``
    a port number.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, get_args

import msgspec

from shieldwall.config import Section, load_toml
from shieldwall.errors import PackError

Format = Literal["syslog", "access", "exim", "nginx_error", "apache_error", "vsftpd"]
Role = Literal["attempt", "pam", "connection", "exhausted", "connect", "mark", "marked", "request"]

ROLES: tuple[str, ...] = get_args(Role)
FORMATS: tuple[str, ...] = get_args(Format)


@dataclass(frozen=True)
class Sample:
    """An annotated line: the pattern it must match and what it must blame.

    ``ip`` is the blamed address, or ``None`` for a line that must not blame
    anyone (hostile lines, success lines, host names).
    """

    line: str
    ip: str | None
    user: str | None = None
    pattern: str | None = None
    note: str = ""


@dataclass(frozen=True)
class PatternSpec:
    """One pattern of a pack, as written in the TOML file."""

    name: str
    kind: str
    role: Role
    regex: str
    description: str = ""


@dataclass(frozen=True)
class PackSpec:
    """A whole pack: format, program, patterns and samples."""

    name: str
    description: str
    format: Format
    program: str
    patterns: tuple[PatternSpec, ...]
    samples: tuple[Sample, ...]
    #: Literals whose presence in a file suggests this pack (``--pack auto``).
    detect: tuple[str, ...] = ()
    path: str = ""


class _Pattern(Section, frozen=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    kind: Annotated[str, msgspec.Meta(min_length=1)]
    regex: str
    role: Role = "attempt"
    description: str = ""


class _Sample(Section, frozen=True):
    line: str
    ip: str = ""
    user: str | None = None
    pattern: str | None = None
    note: str = ""


class _PackFile(Section, frozen=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    patterns: Annotated[
        tuple[_Pattern, ...], msgspec.Meta(min_length=1, description="a pack needs [[patterns]]")
    ]
    format: Format = "syslog"
    program: str = ""
    description: str = ""
    samples: tuple[_Sample, ...] = ()
    detect: tuple[str, ...] = ()


#: Formats whose lines name the program after the header (the pack's ``program``).
_NAMES_A_PROGRAM = ("syslog", "exim", "vsftpd")


def parse_pack(text: str, origin: str = "<string>") -> PackSpec:
    """Parse the TOML text of a pack; errors name the file and key path."""
    file = load_toml(text, _PackFile, origin, error=PackError)
    if file.format in _NAMES_A_PROGRAM and not file.program:
        raise PackError(
            f"{origin}: program: a {file.format} pack needs 'program' (a regex for the program name)"
        )
    seen: set[str] = set()
    for index, pattern in enumerate(file.patterns):
        if pattern.name in seen:
            raise PackError(f"{origin}: patterns[{index}].name: duplicate pattern name {pattern.name!r}")
        seen.add(pattern.name)
    return PackSpec(
        name=file.name,
        description=file.description,
        format=file.format,
        program=file.program,
        patterns=tuple(
            PatternSpec(p.name, p.kind, p.role, p.regex, p.description) for p in file.patterns
        ),
        samples=tuple(
            Sample(s.line, s.ip or None, s.user, s.pattern, s.note) for s in file.samples
        ),
        detect=file.detect,
        path=origin,
    )


def builtin_pack_names() -> list[str]:
    """Names of the packs shipped with Shieldwall."""
    folder = resources.files("shieldwall.events") / "packs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_pack(name_or_path: str) -> PackSpec:
    """Load a shipped pack by name, or a pack file by path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PackError(f"cannot read pack file {path}: {exc.strerror}") from None
        return parse_pack(text, str(path))
    resource = resources.files("shieldwall.events") / "packs" / f"{name_or_path}.toml"
    if not resource.is_file():
        known = ", ".join(builtin_pack_names())
        raise PackError(f"unknown pack {name_or_path!r}; shipped packs: {known}")
    return parse_pack(resource.read_text(encoding="utf-8"), f"packs/{name_or_path}.toml")
