"""Templates escape what they show; static files are served only as pinned."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from shieldwall.errors import ShieldwallError
from shieldwall.ui import render
from shieldwall.ui.views import DecisionRow


def test_the_vendored_scripts_match_their_pins() -> None:
    folder = resources.files("shieldwall.ui").joinpath("static")
    for name, pin in render.STATIC_PINS.items():
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == pin
        data, media = render.static_file(name)
        assert media == "text/javascript" and data


def test_a_tampered_script_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(render.STATIC_PINS, "htmx.min.js", "0" * 64)
    with pytest.raises(ShieldwallError, match="pinned SHA-256"):
        render.static_file("htmx.min.js")


@pytest.mark.parametrize("name", ["../render.py", ".hidden", "nope.js", "a/b.js", ""])
def test_only_shipped_static_files_are_served(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        render.static_file(name)


def test_a_row_escapes_hostile_text() -> None:
    row = DecisionRow(cursor=1, action="block", target="203.0.113.7",
                      scenario="<script>alert(1)</script>", origin='"><img src=x>',
                      created="-", remaining="1h", policy="", rule="", drill=False)
    html = render.render("_row.html", row=row, csrf="")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
