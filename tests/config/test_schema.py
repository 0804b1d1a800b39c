"""The one configuration mechanism: every file's mistakes are refused the same way."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec
import pytest

from shieldwall.config import Duration, Network, Section, decode, load_toml, parse_toml, problem
from shieldwall.config.explain import explain
from shieldwall.config.types import dec_hook
from shieldwall.errors import ConfigError, PackError


class Rule(Section, frozen=True):
    window: Duration = Duration(60)
    quorum: Annotated[int, msgspec.Meta(ge=1, description="how many members must agree")] = 2


class File(Section, frozen=True):
    name: str
    mode: Literal["fast", "safe"] = "safe"
    rules: dict[str, Rule] = msgspec.field(default_factory=dict)
    allow: tuple[Network, ...] = ()


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_toml(text, File, "f.toml")
    return str(caught.value)


def test_a_good_file_decodes_into_frozen_typed_values() -> None:
    text = "name = 'x'\nallow = ['192.0.2.0/24']\n[rules.ssh]\nwindow = '10m'\n"
    file = load_toml(text, File, "f.toml")
    assert (file.name, file.rules["ssh"].window, file.allow) == ("x", 600.0, ("192.0.2.0/24",))
    with pytest.raises(AttributeError):
        file.name = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\nnmae = 'y'",
         "f.toml: nmae: unknown key, did you mean `name`? (valid keys: allow, mode, name, rules)"),
        ("name = 'x'\n[rules.ssh]\nwindw = 1",
         "f.toml: rules.ssh.windw: unknown key, did you mean `window`?"),
        ("name = 'x'\n[rules.a]\n[rules.b]\nquorum = 0",
         "f.toml: rules.b.quorum: how many members must agree (must be a whole number >= 1, got 0)"),
        ("name = 'x'\nmode = 'quick'", "f.toml: mode: must be one of fast, safe; got 'quick'"),
        ("name = 'x'\nallow = ['192.0.2.1/24']", "f.toml: allow[0]: not a valid CIDR"),
        ("name = 'x'\nallow = [7]", "f.toml: allow[0]: expected an address or CIDR, got 7"),
        ("name = 'x'\n[rules.ssh]\nwindow = 'soon'", "f.toml: rules.ssh.window: expected a duration"),
        ("mode = 'fast'", "f.toml: name: required key is missing"),
        ("name = 5", "f.toml: name: must be a string, got 5"),
        ("name = 'x'\nrules = 3", "f.toml: rules: must be a table, got 3"),
        ("name = [", "f.toml: not valid TOML"),
    ],
)
def test_errors_name_the_file_the_key_path_and_what_to_do(text: str, message: str) -> None:
    assert refused(text).startswith(message)


def test_durations_read_units_and_plain_seconds_alike() -> None:
    for spelled, seconds in (("'4h'", 14400.0), ("14400", 14400.0), ("1.5", 1.5), ("'1h30m'", 5400.0)):
        file = load_toml(f"name = 'x'\n[rules.a]\nwindow = {spelled}\n", File, "f")
        assert file.rules["a"].window == seconds
    with pytest.raises(ValueError, match="must not be negative"):
        dec_hook(Duration, -1)
    with pytest.raises(ValueError, match="expected a duration"):
        dec_hook(Duration, True)
    with pytest.raises(ValueError, match="must not be negative"):
        dec_hook(Duration, math.nan)


class Entry(Section, frozen=True):
    name: str
    size: int = 1


class Entries(Section, frozen=True):
    entry: tuple[Entry, ...] = ()


def test_a_value_deep_in_a_list_names_its_index_and_the_entrys_name() -> None:
    message = r"^e.toml: entry\[1\] \(big\)\.size: must be a whole number, got 'x'$"
    with pytest.raises(ConfigError, match=message):
        load_toml("[[entry]]\nname = 'a'\n[[entry]]\nname = 'big'\nsize = 'x'\n", Entries, "e.toml")


def test_a_part_of_a_file_is_decoded_with_its_place_and_the_callers_error_type() -> None:
    with pytest.raises(PackError, match=r"^p.toml: scenario\[3\]\.quorum: "):
        decode({"quorum": "many"}, Rule, "p.toml", where="scenario[3]", error=PackError)
    assert parse_toml("a = 1", "x") == {"a": 1}
    assert str(problem("f.toml", "a.b", "needs c")) == "f.toml: a.b: needs c"


def test_explain_words_messages_it_does_not_know_unchanged() -> None:
    assert explain("Something odd - at `$.name`", {"name": 1}, File) == "name: Something odd"
    assert explain("Object contains unknown field `x`", {}, Rule) == (
        "x: unknown key (valid keys: quorum, window)"
    )
