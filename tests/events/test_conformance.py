"""Agreement with labels written by fail2ban and CrowdSec, per service.

fail2ban's test logs (../shared/data/fail2ban-test-logs, GPL: read, never
copied) label each line: ``# failJSON: {"match": true, "host": "A"}`` applies
to the next line and says whether fail2ban's filter counts it and which host it
blames. ``# filterOptions:`` starts a block tested under the listed modes: we
score a label when its block includes the mode that matches what our pack
covers (see ``F2B``), or when it is a positive label of the normal mode and we
compare with fail2ban's ``aggressive`` mode (a superset of normal).

CrowdSec's hub tests (../shared/data/crowdsec-hub-tests) give, per fixture, the
source addresses that must trigger the scenario under test: our pack must blame
each of them (whether a threshold is reached is the detection stage's job).

Labels we judge wrong are listed in ``JUDGED_WRONG`` with the reason, and are
not scored. Agreement is printed per service (``pytest -s``) and each service
has a floor: what we achieve today, so that a regression fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shieldwall.addresses import blame_key_from_text
from shieldwall.events.autodetect import line_shape
from shieldwall.events.packs import PackSpec, load_pack
from shieldwall.events.patterns import Scanner
from shieldwall.events.stream import EventStream
from tests.conftest import shared_data

# ---- fail2ban ---------------------------------------------------------------


@dataclass(frozen=True)
class F2BSpec:
    """Which fail2ban test files a pack answers for, and under which mode."""

    pack: str
    files: tuple[str, ...]
    #: fail2ban filter mode whose labels describe what the pack covers.
    mode: str = ""
    #: A line format the pack does not read at all (another log file of the
    #: service); such labels are counted apart as "other format", not scored.
    other_format: str | None = None


F2B: dict[str, F2BSpec] = {
    # Our sshd pack counts failures and pre-auth scans: fail2ban's "aggressive".
    "sshd": F2BSpec("sshd", ("sshd", "sshd-journal"), mode="aggressive"),
    # SASL failures, rejects, protocol abuse and scans: also "aggressive".
    "postfix": F2BSpec("postfix", ("postfix",), mode="aggressive"),
    # Failed logins, not connections without any attempt: the normal mode.
    "dovecot": F2BSpec("dovecot", ("dovecot",)),
    "vsftpd": F2BSpec("vsftpd", ("vsftpd",)),
    "proftpd": F2BSpec("proftpd", ("proftpd",)),
    "pureftpd": F2BSpec("pureftpd", ("pure-ftpd",)),
    # AUTH failures, rejects, protocol abuse and scans: fail2ban's "aggressive".
    "exim": F2BSpec("exim", ("exim",), mode="aggressive"),
    # The web servers' error logs (the access-log lines of these files are the http pack's).
    "nginx-error": F2BSpec(
        "nginx-error", ("nginx-http-auth", "nginx-botsearch"),
        other_format=r"^(?:[0-9a-fA-F.:]+ - |\S+ nginx\[)",
    ),
    "apache-error": F2BSpec(
        "apache-error", ("apache-auth", "apache-noscript", "apache-botsearch"),
        other_format=r"^[0-9a-fA-F.:]+ - ",
    ),
    # The http pack reads access logs; these filters also read error logs. (Bad-bot,
    # knocking and URL-fopen filters judge other things than probes or failures.)
    "http": F2BSpec(
        "http",
        ("nginx-botsearch", "apache-botsearch", "nginx-bad-request"),
        other_format=r"^(?:\[|\d{4}/\d\d/\d\d |\S+ nginx\[)",
    ),
}

_GOODBYE = (
    "a client's goodbye (disconnect code 11) before authenticating is client text and no failure "
    "by itself; the connection's failures are counted from their own lines"
)
_VALID_KEY = (
    "a key or host key refused for an existing user counts nothing by itself (clients offer "
    "several keys); a connection that runs out of attempts is counted by its own line"
)
_SSH1_RUSER = (
    "client text (the ssh1 remote user) after the address makes the line ambiguous: a forged "
    "'from A' could end it; Shieldwall blames nobody rather than guess"
)
_SUFFIX = (
    "OpenSSH writes nothing after 'ssh2' for a password failure, so this line is a user name "
    "'test from 127.0.0.1 port 58946 ssh2:' sent from 10.10.1.2 - which Shieldwall blames"
)
_PID_REUSE = (
    "the test reuses process id 26713 for a second connection of the same client within the "
    "same second; Shieldwall counts per connection (process id) and sees one, already counted"
)
_TIMING = (
    "fail2ban's multi-line accounting defers a PAM failure until the connection closes or "
    "succeeds and reports it on that later line; Shieldwall counts it on the PAM line itself"
)
_REPEAT = (
    "a second address-less error of a connection already counted: Shieldwall counts a "
    "connection's pre-auth errors once"
)
_KERNEL = (
    "a 'kernel:' text between sshd's header and its message is not something sshd writes; "
    "accepting arbitrary text before a failure message would weaken the blame rules"
)
_DNS_MISMATCH = (
    "'hostname X does not resolve to address A' is the address owner's DNS set-up, not an "
    "attack: blocking on it blocks lawful mail servers"
)

#: (file, label line number, reason): labels judged wrong (or deliberately not
#: followed), not scored. Line numbers are those of the ``# failJSON`` comment.
JUDGED_WRONG: list[tuple[str, int, str]] = [
    *(("sshd", n, _GOODBYE) for n in (102, 117, 217)),
    *(("sshd-journal", n, _GOODBYE) for n in (100, 115, 215)),
    *(("sshd", n, _VALID_KEY) for n in (128, 131)),
    *(("sshd-journal", n, _VALID_KEY) for n in (126, 129)),
    *(("sshd", n, _SSH1_RUSER) for n in (134, 137, 139)),
    *(("sshd-journal", n, _SSH1_RUSER) for n in (132, 135, 137)),
    ("sshd", 146, _SUFFIX),
    ("sshd-journal", 144, _SUFFIX),
    ("sshd", 207, _PID_REUSE),
    ("sshd-journal", 205, _PID_REUSE),
    *(("sshd", n, _TIMING) for n in (221, 251, 261)),
    *(("sshd-journal", n, _TIMING) for n in (219, 243, 253)),
    *(("sshd", n, _REPEAT) for n in (294, 300, 323, 389)),
    *(("sshd-journal", n, _REPEAT) for n in (282, 288, 330)),
    *(("sshd-journal", n, _KERNEL) for n in (63, 65, 67)),
    ("postfix", 157, _DNS_MISMATCH),
    *(("exim", n, _DNS_MISMATCH) for n in (121, 123, 125)),
]

#: Labels whose host is not an address: we never resolve names (DNS is
#: client-controlled and slow), so a line naming only a host blames nobody.
HOSTNAME_LABELS = "host name: Shieldwall never resolves names read from a log"

_LABEL = re.compile(r"^#+ ?(failJSON|filterOptions|fileOptions|addFILE):(.+)$")
_HAS_TIME = re.compile(
    r"^(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)"
)


@dataclass(frozen=True)
class Label:
    file: str
    lineno: int
    line: str
    match: bool
    host: str | None
    modes: frozenset[str]
    journal: bool


def _modes(options: object) -> tuple[frozenset[str], bool]:
    entries = options if isinstance(options, list) else [options]
    modes = frozenset(str(e.get("mode", "")) for e in entries if isinstance(e, dict))
    journal = any(isinstance(e, dict) and e.get("logtype") == "journal" for e in entries)
    return modes, journal


def read_fail2ban(path: Path) -> list[Label]:
    """The labelled lines of one fail2ban test log, with the modes of their block."""
    labels: list[Label] = []
    modes: frozenset[str] = frozenset({""})
    file_journal = block_journal = False
    pending: tuple[int, dict[str, object]] | None = None
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    for lineno, line in enumerate(text.splitlines(), start=1):
        found = _LABEL.match(line)
        if found:
            kind, data = found.group(1), json.loads(found.group(2))
            if kind == "failJSON":
                pending = (lineno, data)
            elif kind == "filterOptions":
                modes, block_journal = _modes(data)
            elif kind == "fileOptions":
                file_journal = _modes(data)[1]
            continue
        if line.startswith("#") or not line.strip() or pending is None:
            continue
        at, data = pending
        pending = None
        host = data.get("host", data.get("ip4", data.get("ip6")))
        labels.append(
            Label(
                path.name, at, line, bool(data.get("match", False)),
                str(host) if host is not None else None, modes, file_journal or block_journal,
            )
        )
    return labels


def _scored(label: Label, mode: str) -> bool:
    if mode in label.modes:
        return True
    return mode == "aggressive" and label.match and bool(label.modes & {"", "normal"})


def _is_address(text: str) -> bool:
    return blame_key_from_text(text, 128) is not None


class Blamer:
    """Runs a pack over lines in order and says what each line blames.

    ``counted`` is the key of the event the line produced. ``recognised`` is the
    address a failure pattern read from the line even when connection accounting
    absorbed it (the second line of an already counted attempt); lines of
    connection-tracking patterns (role ``connect``) recognise nothing.

    A positive label agrees when either is the labelled host (fail2ban counts
    some lines that we count once per connection); a negative label agrees when
    the line counted nothing.
    """

    def __init__(self, pack: PackSpec) -> None:
        self.pack = pack
        self.stream = EventStream(pack, year=2005)
        self.scanner = Scanner(pack)

    def blame(self, line: str) -> tuple[str | None, str | None]:
        data = line.encode("utf-8", "surrogateescape")
        events = self.stream.feed(data)
        counted = events[0].key if events else None
        found = next(iter(self.scanner.scan(data)), None)
        if found is None or found[2] is None or self.pack.patterns[found[0]].role in ("connect", "mark"):
            return counted, counted
        recognised = blame_key_from_text(found[2].decode("ascii", "replace"), self.stream.ipv6_prefix)
        return counted, recognised


@dataclass
class Score:
    agree: int = 0
    scored: int = 0
    other_format: int = 0
    judged_wrong: int = 0
    hostnames: int = 0
    #: Misses whose line header the engine does not read (a format it lacks).
    header_unread: int = 0


def _journal_line(line: str) -> str:
    # fail2ban feeds journal messages without a time stamp; our journald source
    # prefixes the journal's own time, as here.
    return line if _HAS_TIME.match(line) else f"Jan  1 00:00:00 {line}"


def score_fail2ban(service: str) -> tuple[Score, list[str]]:
    spec = F2B[service]
    score = Score()
    wrong = {(f, n) for f, n, _ in JUDGED_WRONG}
    other = re.compile(spec.other_format) if spec.other_format else None
    misses: list[str] = []
    for name in spec.files:
        blamer = Blamer(load_pack(spec.pack))
        shape = line_shape(blamer.pack)
        for label in read_fail2ban(shared_data("fail2ban-test-logs", "logs", name)):
            if not _scored(label, spec.mode):
                continue
            line = _journal_line(label.line) if label.journal else label.line
            counted, recognised = blamer.blame(line)
            if other is not None and other.search(label.line):
                score.other_format += 1
                continue
            if (label.file, label.lineno) in wrong:
                score.judged_wrong += 1
                continue
            if label.match and label.host is not None and not _is_address(label.host):
                score.hostnames += 1
                assert recognised is None, f"{name}:{label.lineno}: a host name was blamed"
                continue
            want = (
                blame_key_from_text(label.host, blamer.stream.ipv6_prefix)
                if label.match and label.host
                else None
            )
            score.scored += 1
            if label.match and want is None:
                # A positive label without a host only says "this is a failure".
                agree = (counted or recognised) is not None
            else:
                agree = want in (counted, recognised) if want is not None else counted is None
            if agree:
                score.agree += 1
            else:
                got = counted or recognised
                if not shape.match(line.encode("utf-8", "surrogateescape")):
                    score.header_unread += 1
                misses.append(f"{name}:{label.lineno}: want {want} got {got}: {label.line[:160]}")
    return score, misses


#: What the packs achieve today; a regression below these fails.
F2B_FLOOR = {
    "sshd": 214, "postfix": 59, "dovecot": 51, "vsftpd": 8, "proftpd": 10, "pureftpd": 1, "http": 16,
    "exim": 45, "nginx-error": 4, "apache-error": 67,
}


def test_fail2ban_labels_agree_per_service() -> None:
    rows, all_misses, below = [], [], []
    for service in sorted(F2B):
        score, misses = score_fail2ban(service)
        share = 100.0 * score.agree / score.scored if score.scored else 100.0
        rows.append(
            f"  {service:8} {score.agree:>4}/{score.scored:<4} {share:5.1f}%"
            f"   judged wrong {score.judged_wrong:>3}   other format {score.other_format:>3}"
            f"   host names {score.hostnames:>3}   misses with an unread header {score.header_unread:>3}"
        )
        all_misses += misses
        if score.agree < F2B_FLOOR[service]:
            below.append(f"{service}: {score.agree} < floor {F2B_FLOOR[service]}")
    print("\nfail2ban labels: agreement per service")
    print("\n".join(rows))
    for miss in all_misses:
        print("  miss", miss)
    assert not below, (below, all_misses)


# ---- CrowdSec ---------------------------------------------------------------

#: Fixture-name prefix -> pack. Fixtures of other services (exim, pure-ftpd) and
#: of scenarios about something else than failures or probes are listed in
#: CROWDSEC_SKIPPED with the reason.
CROWDSEC_PACKS = {
    "ssh": "sshd",
    "sshd": "sshd",
    "apache": "http",
    "apache2": "http",
    "http": "http",
    "nginx": "http",
    "nginx_http": "http",
    "postfix": "postfix",
    "dovecot": "dovecot",
    "vsftpd": "vsftpd",
    "proftpd": "proftpd",
    "pureftpd": "pureftpd",
    "exim": "exim",
}

CROWDSEC_SKIPPED = {
    "sshesame": "a honeypot's own log, not sshd",
    "sshd-impossible-travel": "about successful logins from far-apart places, not failures",
    "sshd-impossible-travel-user": "about successful logins from far-apart places, not failures",
    "http-dos-bypass-cache": "a request-rate (DoS) scenario, not probes or failures",
    "http-dos-random-uri": "a request-rate (DoS) scenario, not probes or failures",
    "http-dos-switching-ua": "a request-rate (DoS) scenario, not probes or failures",
    "http-dos-invalid-http-versions": "a request-rate (DoS) scenario, not probes or failures",
    "http-bf-wordpress-bf": "password guessing on a live WordPress (answered 200): needs a WordPress pack",
    "http-magento-bf": "Magento's own extension log, not an access log",
}

_ATTACKER = re.compile(r'^"([0-9A-Fa-f.:]+)" in results\[\d+\]\.Overflow\.GetSources\(\)', re.M)


_SCENARIOS = re.compile(r"^scenarios:\s*\n((?:\s*-.*\n|\s*#.*\n)*)", re.M)


def _has_scenario(config: str) -> bool:
    found = _SCENARIOS.search(config)
    entries = re.findall(r"-\s*([^#\s]+)", found.group(1)) if found else []
    return any(entry.strip("\"'") for entry in entries)


def crowdsec_fixtures() -> Iterator[tuple[str, str, Path]]:
    """(name, pack, folder) of each fixture that names attackers of a scenario."""
    root = shared_data("crowdsec-hub-tests")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not (folder / "scenario.assert").is_file():
            continue
        if not _has_scenario((folder / "config.yaml").read_text()):
            continue
        if not _ATTACKER.search((folder / "scenario.assert").read_text()):
            continue
        prefix = re.split(r"[-_]", folder.name)[0]
        pack = CROWDSEC_PACKS.get(prefix) or CROWDSEC_PACKS.get(folder.name.split("-")[0])
        if pack is None:
            continue
        yield folder.name, pack, folder


#: Scenario words -> the event kinds that scenario stands for (web only: the
#: other services' scenarios all count failures). The first word found wins.
CROWDSEC_KINDS: list[tuple[str, frozenset[str]]] = [
    ("bad-user-agent", frozenset({"http_scanner_ua"})),
    *(
        (word, frozenset({"http_probe"}))
        for word in (
            "sensitive-files", "path-traversal", "open-proxy", "wordpress-scan", "wpconfig",
            "cve-probing", "admin-interface", "w00t", "backdoor",
        )
    ),
    ("", frozenset({"http_probe", "http_error"})),  # probing, sqli, xss, generic-bf, ...
]


def _kinds_for(pack: str, folder: Path) -> frozenset[str] | None:
    if pack != "http":
        return None
    config = (folder / "config.yaml").read_text()
    return next(kinds for word, kinds in CROWDSEC_KINDS if word in config)


def score_crowdsec(name: str, pack_name: str, folder: Path) -> tuple[set[str], set[str]]:
    """(expected attackers, addresses our pack blamed with a fitting kind) for one fixture."""
    expected = set(_ATTACKER.findall((folder / "scenario.assert").read_text()))
    expected = {blame_key_from_text(a, 64) or a for a in expected}
    kinds = _kinds_for(pack_name, folder)
    stream = EventStream(load_pack(pack_name), year=2024)
    blamed: set[str] = set()
    for log in sorted(folder.glob("*.log")):
        data = log.read_bytes()
        if data and not data.endswith(b"\n"):
            data += b"\n"
        blamed |= {e.key for e in stream.feed(data) if kinds is None or e.kind in kinds}
    return expected, blamed


#: Fixtures whose expected attackers we find today, per pack.
CROWDSEC_FLOOR = {"sshd": 9, "http": 20, "postfix": 6, "dovecot": 6, "pureftpd": 1, "exim": 2,
                  "proftpd": 2, "vsftpd": 1}


def test_crowdsec_expected_attackers_are_blamed_per_service() -> None:
    found: dict[str, list[int]] = {}
    lines = []
    for name, pack, folder in crowdsec_fixtures():
        if name in CROWDSEC_SKIPPED:
            continue
        expected, blamed = score_crowdsec(name, pack, folder)
        tally = found.setdefault(pack, [0, 0])
        tally[1] += 1
        ok = expected <= blamed
        tally[0] += ok
        extra = sorted(blamed - expected)
        lines.append(
            f"  {'ok  ' if ok else 'MISS'} {pack:8} {name:34} expected {sorted(expected)}"
            + (f" missing {sorted(expected - blamed)}" if not ok else "")
            + (f" also {extra}" if extra else "")
        )
    print("\ncrowdsec fixtures:")
    print("\n".join(lines))
    for pack, (ok, total) in sorted(found.items()):
        print(f"crowdsec {pack:8} {ok}/{total} fixtures")
    for pack, floor in CROWDSEC_FLOOR.items():
        assert found.get(pack, [0, 0])[0] >= floor, pack


@pytest.mark.parametrize(
    ("name", "pack"),
    [("sshd-success-logs", "sshd"), ("sshd-logs-fp", "sshd"), ("nginx_http-logs", "http")],
)
def test_crowdsec_lawful_fixtures_blame_nobody(name: str, pack: str) -> None:
    stream = EventStream(load_pack(pack), year=2024)
    for log in shared_data("crowdsec-hub-tests", name).glob("*.log"):
        assert stream.feed(log.read_bytes() + b"\n") == [], name
