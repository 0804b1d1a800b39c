"""Schemas and decoding: TOML text -> frozen msgspec structs, or one error naming the key."""

from __future__ import annotations

import tomllib
from typing import Any, TypeVar

import msgspec

from shieldwall.config.explain import explain
from shieldwall.config.types import dec_hook
from shieldwall.errors import ConfigError, ShieldwallError

T = TypeVar("T")


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every configuration table: a key the schema does not name is an error.

    Subclasses repeat ``frozen=True`` (for mypy) and list required fields first
    (msgspec does not inherit ``kw_only``).
    """


def decode(
    data: object,
    schema: type[T],
    origin: str,
    where: str = "",
    error: type[ShieldwallError] = ConfigError,
) -> T:
    """``data`` (parsed TOML) as ``schema``; raises ``error`` naming ``origin`` and the key.

    ``where`` prefixes the key path when ``data`` is a part of a larger file.
    """
    try:
        return msgspec.convert(data, schema, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        raise error(f"{origin}: {explain(str(exc), data, schema, where)}") from None


def parse_toml(
    text: str, origin: str, error: type[ShieldwallError] = ConfigError
) -> dict[str, Any]:
    """The TOML document in ``text``, untyped (for checks before :func:`decode`)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{origin}: not valid TOML: {exc}") from None


def load_toml(
    text: str, schema: type[T], origin: str, error: type[ShieldwallError] = ConfigError
) -> T:
    """Parse TOML ``text`` from ``origin`` (a file name) into ``schema``."""
    return decode(parse_toml(text, origin, error), schema, origin, error=error)


def problem(origin: str, path: str, text: str) -> ConfigError:
    """The error for a check no schema can express (one key depends on another)."""
    return ConfigError(f"{origin}: {path}: {text}")
