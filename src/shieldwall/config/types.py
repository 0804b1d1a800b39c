"""Value types that configuration files spell as text, and the hook that reads them."""

from __future__ import annotations

from typing import Any

from shieldwall.addresses import parse_network
from shieldwall.durations import duration_seconds
from shieldwall.errors import AddressError


class Duration(float):
    """Seconds, written as a duration (``"90s"``, ``"4h"``, ``"7d"``) or plain seconds."""


class Network(str):
    """An address or CIDR with zero host bits, kept as written."""

    __slots__ = ()


def dec_hook(kind: type, value: Any) -> Any:
    """msgspec's hook for the types above; a ``ValueError`` becomes an error at the key."""
    if kind is Duration:
        return Duration(duration_seconds(value))
    if kind is Network:
        if not isinstance(value, str):
            raise ValueError(f"expected an address or CIDR, got {value!r}")
        try:
            parse_network(value)
        except AddressError as exc:
            raise ValueError(str(exc)) from None
        return Network(value)
    raise NotImplementedError(kind)
