"""events.trial: per-line results of trying packs, and sample checks."""

from __future__ import annotations

import dataclasses

from shieldwall.events.packs import Sample, load_pack
from shieldwall.events.trial import (
    ALREADY_COUNTED,
    CONNECTION_RECORD,
    NO_ADDRESS,
    NOT_AN_ADDRESS,
    Trial,
    check_samples,
)

SSHD = load_pack("sshd")
H = "Feb  1 10:00:00 h sshd"


def _results(*lines: str) -> list[tuple[str | None, str | None, str]]:
    trial = Trial([SSHD, load_pack("http")], year=2024)
    return [(r.pattern, r.blamed, r.reason) for r in trial.run(line.encode() for line in lines)]


def test_each_line_names_its_pattern_and_blame_or_why_it_counts_nothing() -> None:
    assert _results(
        f"{H}[1]: Connection from 192.0.2.1 port 5 on 203.0.113.1 port 22",
        f"{H}[1]: Invalid user a from 192.0.2.1 port 5",
        f"{H}[1]: Failed password for invalid user a from 192.0.2.1 port 5 ssh2",
        f"{H}[2]: Disconnecting: Too many authentication failures [preauth]",
        f"{H}[3]: Invalid user b from 1.2.3.999 port 5",
        f"{H}[4]: Accepted password for c from 192.0.2.4 port 5 ssh2",
    ) == [
        ("connection_from", None, CONNECTION_RECORD),
        ("invalid_user", "192.0.2.1", ""),
        ("failed_auth", None, ALREADY_COUNTED),
        ("too_many_failures", None, NO_ADDRESS),
        ("invalid_user", None, NOT_AN_ADDRESS),
        (None, None, ""),
    ]


def test_the_first_pack_that_matches_names_a_line_of_a_mixed_file() -> None:
    [(pattern, blamed, _)] = _results(
        '198.51.100.7 - - [20/Jan/2015:19:53:28 +0100] "GET /.env HTTP/1.1" 404 1 "-" "-"'
    )
    assert (pattern, blamed) == ("probe_secret", "198.51.100.7")


def test_check_samples_reports_a_sample_that_blames_otherwise() -> None:
    assert check_samples(SSHD) == []
    wrong = Sample(line=f"{H}[9]: Invalid user x from 192.0.2.9", ip="192.0.2.8", pattern="invalid_user")
    [mismatch] = check_samples(dataclasses.replace(SSHD, samples=(wrong,)))
    assert mismatch.blamed == "192.0.2.9"
    assert "wanted blame 192.0.2.8" in mismatch.describe()
