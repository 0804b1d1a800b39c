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

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

from shieldwall.errors import PackError

Format = Literal["syslog", "access"]
Role = Literal["attempt", "pam", "connection", "connect", "request"]

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


def _require(table: dict[str, Any], key: str, where: str, kind: type) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise PackError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def parse_pack(text: str, origin: str = "<string>") -> PackSpec:
    """Parse the TOML text of a pack; errors name the file and key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{origin}: not valid TOML: {exc}") from None
    name = _require(data, "name", origin, str)
    fmt = data.get("format", "syslog")
    if fmt not in FORMATS:
        raise PackError(f"{origin}: 'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    program = data.get("program", "")
    if fmt == "syslog" and not program:
        raise PackError(f"{origin}: a syslog pack needs 'program' (a regex for the program name)")
    patterns: list[PatternSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("patterns", [])):
        where = f"{origin}: patterns[{index}]"
        pname = _require(raw, "name", where, str)
        if pname in seen:
            raise PackError(f"{where}: duplicate pattern name {pname!r}")
        seen.add(pname)
        role = raw.get("role", "attempt")
        if role not in ROLES:
            raise PackError(f"{where}: 'role' must be one of {', '.join(ROLES)}, got {role!r}")
        patterns.append(
            PatternSpec(
                name=pname,
                kind=_require(raw, "kind", where, str),
                role=cast(Role, role),
                regex=_require(raw, "regex", where, str),
                description=raw.get("description", ""),
            )
        )
    if not patterns:
        raise PackError(f"{origin}: a pack needs at least one [[patterns]] entry")
    samples: list[Sample] = []
    for index, raw in enumerate(data.get("samples", [])):
        where = f"{origin}: samples[{index}]"
        ip = raw.get("ip", "")
        samples.append(
            Sample(
                line=_require(raw, "line", where, str),
                ip=ip or None,
                user=raw.get("user"),
                pattern=raw.get("pattern"),
                note=raw.get("note", ""),
            )
        )
    return PackSpec(
        name=name,
        description=data.get("description", ""),
        format=cast(Format, fmt),
        program=program,
        patterns=tuple(patterns),
        samples=tuple(samples),
        detect=tuple(data.get("detect", ())),
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
