"""A line can only blame the address its service wrote: hostile client text never moves blame.

Attacks on fail2ban and sshguard put an address inside text the client controls
(an SSH user name like ``root from 198.51.100.23``, a banner, a disconnect
reason, a key-exchange offer, a URL or user agent) so that the victim's tools
block somebody else. Every line here carries such text; the rule is that the
injected address (``198.51.100.23``, ``2001:db8:bad::23``) is never blamed,
while the real client (``192.0.2.77``) still is whenever the line is a failure.
"""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldwall.addresses import blame_key_from_text, parse_address
from shieldwall.errors import AddressError
from shieldwall.events.packs import PackSpec, Sample, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream
from tests.conftest import shared_data

REAL = "192.0.2.77"
INJECTED = "198.51.100.23"
INJECTED6 = "2001:db8:bad::23"
#: Every key an injected address could be counted under.
FORBIDDEN = {INJECTED, "2001:db8:bad::/64", "2001:db8:bad::23"}

HEADS = ("Dec 10 06:55:46 LabSZ ", "2024-07-02T10:11:12.123456+02:00 host ", "<38>Feb  1 10:00:00 ")
PROGRAMS = ("sshd", "sshd-session")

#: sshd messages that echo a user name (or other client text: banner, reason,
#: key exchange offer), with whether the line is a failure that must blame REAL.
#: ``{u}`` is the client text, ``{ip}`` the address sshd writes.
SSHD_TEMPLATES: list[tuple[str, bool]] = [
    ("Invalid user {u} from {ip}", True),
    ("Invalid user {u} from {ip} port 50022", True),
    ("Failed password for {u} from {ip} port 50022 ssh2", True),
    ("Failed password for invalid user {u} from {ip} port 50022 ssh2", True),
    ("Failed password for invalid user {u} from {ip} port 50022 ssh2 [preauth]", True),
    ("Failed keyboard-interactive/pam for invalid user {u} from {ip} port 50022 ssh2", True),
    ("Failed keyboard-interactive/pam for {u} from {ip} port 50022 ssh2", True),
    ("Failed none for invalid user {u} from {ip} port 50022 ssh2", False),
    ("Failed publickey for {u} from {ip} port 50022 ssh2: RSA SHA256:Zm9vYmFy", False),
    ("Failed publickey for invalid user {u} from {ip} port 50022 ssh2: ED25519 SHA256:Zm9v", False),
    ("Connection closed by invalid user {u} {ip} port 50022 [preauth]", True),
    ("Connection closed by authenticating user {u} {ip} port 50022 [preauth]", True),
    ("Connection reset by invalid user {u} {ip} port 50022 [preauth]", True),
    ("Disconnected from invalid user {u} {ip} port 50022 [preauth]", True),
    ("Disconnected from authenticating user {u} {ip} port 50022 [preauth]", True),
    ("error: maximum authentication attempts exceeded for {u} from {ip} port 50022 ssh2 [preauth]",
     True),
    ("error: maximum authentication attempts exceeded for invalid user {u} from {ip} port 50022 "
     "ssh2 [preauth]", True),
    ("Disconnecting authenticating user {u} {ip} port 50022: Too many authentication failures "
     "[preauth]", True),
    ("Disconnecting invalid user {u} {ip} port 50022: Too many authentication failures [preauth]",
     True),
    ("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
     "rhost={ip}  user={u}", True),
    ("PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={u}",
     True),
    ("error: PAM: Authentication failure for {u} from {ip}", True),
    ("error: PAM: Authentication failure for illegal user {u} from {ip}", True),
    ("User {u} from {ip} not allowed because not listed in AllowUsers", True),
    ("User {u} from {ip} not allowed because listed in DenyUsers", True),
    ("input_userauth_request: invalid user {u} [preauth]", False),
    ("Disconnecting: Too many authentication failures for {u} [preauth]", False),
    ("Bad protocol version identification '{u}' from {ip} port 50022", False),
    ("Received disconnect from {ip} port 50022:11: {u} [preauth]", False),
    ("Received disconnect from {ip} port 50022:3: {u}: Auth fail [preauth]", False),
    ("error: Received disconnect from {ip} port 50022:3: com.jcraft.jsch.JSchException: {u} "
     "[preauth]", False),
    ("Received disconnect from {ip}: 11: {u}", False),
    ("Unable to negotiate with {ip} port 50022: no matching key exchange method found. "
     "Their offer: {u} [preauth]", False),
    ("Unable to negotiate with {ip} port 50022: no matching host key type found. Their offer: {u}",
     False),
    ("Accepted password for {u} from {ip} port 50022 ssh2", False),
    ("Accepted publickey for {u} from {ip} port 50022 ssh2: RSA SHA256:Zm9vYmFy", False),
    ("Postponed keyboard-interactive for invalid user {u} from {ip} port 50022 ssh2 [preauth]",
     False),
    ("Disconnected from user {u} {ip} port 50022", False),
    ("pam_unix(sshd:session): session opened for user {u} by (uid=0)", False),
]

#: User names (and other client text) that try to move the blame.
HOSTILE: list[str] = [
    f"x {INJECTED} on",
    f"root from {INJECTED}",
    f"root from {INJECTED} port 22",
    f"root from {INJECTED} port 22 ssh2",
    f"root from {INJECTED} port 22 ssh2 [preauth]",
    f"x {INJECTED} port 22 [preauth]",
    f"x on {INJECTED} port 22",
    f"x [preauth] {INJECTED}",
    f"invalid user x {INJECTED} port 22",
    f"authenticating user x {INJECTED} port 22",
    f"rhost={INJECTED}",
    f"x' from {INJECTED} port 22",
    f"{INJECTED}",
    f"::ffff:{INJECTED}",
    f"{INJECTED6}",
    f"x from {INJECTED6} port 22 ssh2",
    f"x {INJECTED6} port 22 [preauth]",
    f"[{INJECTED6}]",
    f"x\r{INJECTED}",
    f"x\rDec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from {INJECTED} port 22 ssh2",
    f"Dec 10 06:55:46 LabSZ sshd[1]: Invalid user y from {INJECTED}",
    f"x\x00 from {INJECTED} port 22",
    f"\x1b[2J\x07 from {INJECTED} port 22 ssh2",
    f"x: Too many authentication failures from {INJECTED} port 22",
    f"x not allowed because listed in DenyUsers from {INJECTED}",
    "a" * 10_000 + f" from {INJECTED} port 22",
    f"{'from ' * 2000}{INJECTED} port 22",
    f"x from {INJECTED} port 22 ssh2 \u00e9\u202e",
]


def _stream(pack: str = "sshd") -> EventStream:
    return EventStream(load_pack(pack), year=2024)


_PIDS = itertools.count(1000)


#: RFC 5424 headers: ``{p}`` the program, ``{pid}`` its process id.
HEADS_5424 = (
    "<38>1 2024-07-02T10:11:12.123456+02:00 host {p} {pid} - - ",
    '<38>1 2024-07-02T10:11:12Z host {p} {pid} ID47 [meta sequenceId="7" x="a\\"\\]"][o y="z"] ',
)


def _lines(template: str, user: str) -> Iterator[str]:
    """The message under every head and program name, each as a new connection (pid)."""
    message = template.format(u=user, ip=REAL)
    for head in HEADS:
        for program in PROGRAMS:
            yield f"{head}{program}[{next(_PIDS)}]: {message}"
    for head in HEADS_5424:
        for program in PROGRAMS:
            yield head.format(p=program, pid=next(_PIDS)) + message


def _keys(stream: EventStream, line: str) -> list[str]:
    return [e.key for e in stream.feed(line.encode("utf-8", "surrogateescape") + b"\n")]


@pytest.mark.parametrize("template,failure", SSHD_TEMPLATES, ids=[t[:40] for t, _ in SSHD_TEMPLATES])
def test_hostile_user_names_never_move_the_blame(template: str, failure: bool) -> None:
    stream = _stream()
    for user in HOSTILE:
        for line in _lines(template, user):
            keys = _keys(stream, line)
            assert not FORBIDDEN & set(keys), line[:200]
            assert set(keys) <= {REAL}, line[:200]
            if failure:
                assert keys == [REAL], f"the real client was missed: {line[:200]!r}"


@pytest.mark.parametrize("template,failure", [t for t in SSHD_TEMPLATES if t[1]][:6])
def test_templates_blame_the_real_client_with_a_plain_user_name(template: str, failure: bool) -> None:
    stream = _stream()
    for line in _lines(template, "oracle"):
        assert _keys(stream, line) == [REAL]


def test_address_free_lines_blame_only_the_connection_they_belong_to() -> None:
    stream = _stream()
    lines = [
        f"Dec 10 06:55:46 h sshd[77]: Connection from {REAL} port 50022 on 192.0.2.1 port 22",
        f"Dec 10 06:55:47 h sshd[77]: input_userauth_request: invalid user root from {INJECTED} "
        f"port 22 [preauth]",
        f"Dec 10 06:55:48 h sshd[77]: Disconnecting: Too many authentication failures for root from "
        f"{INJECTED} port 22 [preauth]",
    ]
    keys = [k for line in lines for k in _keys(stream, line)]
    assert INJECTED not in keys
    assert set(keys) <= {REAL}


@pytest.mark.parametrize(
    "line",
    [
        # another program writing sshd's words, with or without a header of its own
        f"Dec 10 06:55:46 h logger: Failed password for root from {INJECTED} port 22 ssh2",
        f"Dec 10 06:55:46 h logger: Dec 10 06:55:46 h sshd[7]: Failed password for root from "
        f"{INJECTED} port 22 ssh2",
        f"Dec 10 06:55:46 h sudo:   alice : sshd[7]: Invalid user x from {INJECTED}",
        f"Dec 10 06:55:46 h su[5]: sshd[7]: Invalid user x from {INJECTED}",
        # a client text that carries a whole syslog line after sshd's own message
        f"Dec 10 06:55:46 h sshd[7]: Received disconnect from {REAL} port 5:11: Dec 10 06:55:46 h "
        f"sshd[7]: Failed password for root from {INJECTED} port 22 ssh2",
        f"Dec 10 06:55:46 h sshd[7]: Accepted password for x sshd[8]: Failed password for root "
        f"from {INJECTED} port 22 ssh2 from {REAL} port 50022 ssh2",
        # RFC 5424 structured data is the logging system's: a value cannot end it early
        f'<38>1 2024-07-02T10:11:12Z h sshd 7 - [a b="x"] sshd 8 - - Failed password for root '
        f'from {INJECTED} port 22 ssh2"] Accepted password for x from {REAL} port 5 ssh2',
        f'<38>1 2024-07-02T10:11:12Z h sshd 7 - [a b="\\"] Failed password for root from '
        f'{INJECTED} port 22 ssh2',
        f"<38>1 2024-07-02T10:11:12Z h cron 7 - - sshd 8 - - Failed password for root from "
        f"{INJECTED} port 22 ssh2",
        # no header at all: the line does not start with a timestamp
        f"sshd[7]: Failed password for root from {INJECTED} port 22 ssh2",
        f" Dec 10 06:55:46 h sshd[7]: Failed password for root from {INJECTED} port 22 ssh2",
    ],
)
def test_a_forged_header_inside_a_line_is_not_a_line(line: str) -> None:
    assert INJECTED not in _keys(_stream(), line)


def test_forged_header_after_a_real_failure_still_blames_the_real_client() -> None:
    line = (
        f"Dec 10 06:55:46 h sshd[9]: Failed password for invalid user x Dec 10 06:55:46 h sshd[7]: "
        f"Failed password for root from {INJECTED} port 22 ssh2 from {REAL} port 50022 ssh2"
    )
    assert _keys(_stream(), line) == [REAL]


# ---- every shipped pack: substitute hostile text for each sample's client text ----


def _samples_with_user() -> list[tuple[str, Sample]]:
    found = []
    for name in builtin_pack_names():
        for sample in load_pack(name).samples:
            if sample.ip and sample.user and sample.line.count(sample.user) == 1:
                found.append((name, sample))
    return found


_USER_SAMPLES = _samples_with_user()


def _expected(sample: Sample) -> str:
    assert sample.ip is not None
    return blame_key_from_text(sample.ip) or sample.ip


@pytest.mark.parametrize(
    "pack_name,sample", _USER_SAMPLES, ids=[f"{p}:{s.line[:50]}" for p, s in _USER_SAMPLES]
)
def test_pack_samples_with_hostile_user_names_never_blame_the_injected_address(
    pack_name: str, sample: Sample
) -> None:
    pack = load_pack(pack_name)
    for user in HOSTILE:
        line = sample.line.replace(sample.user or "", user)
        keys = _keys(EventStream(pack, year=2024), line)
        assert not FORBIDDEN & set(keys), (pack_name, line[:200])
        assert set(keys) <= {_expected(sample)}, (pack_name, line[:200])


def _http_pack() -> PackSpec:
    # the http pack always ships: a missing one fails here (PackError) instead of skipping
    return load_pack("http")


def _apache_quote(text: str) -> str:
    """How Apache writes client text inside a quoted field: ``\\`` and ``"`` escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


HTTP_TEMPLATES = [
    '{ip} - - [10/Oct/2024:13:55:36 +0000] "GET /{u} HTTP/1.1" 404 162 "-" "Mozilla/5.0"',
    '{ip} - - [10/Oct/2024:13:55:36 +0000] "GET /.env HTTP/1.1" 404 162 "{u}" "{u}"',
    '{ip} - - [10/Oct/2024:13:55:36 +0000] "GET /wp-login.php?x={u} HTTP/1.1" 404 1 "-" "sqlmap {u}"',
    '{ip} - - [10/Oct/2024:13:55:36 +0000] "{u}" 400 0 "-" "-"',
    # vhost-prefixed (Apache vhost_combined, nginx $host: the vhost may be the address a
    # client asked for) and lines wrapped in quotes
    'www.example.com:443 {ip} - - [10/Oct/2024:13:55:36 +0000] "GET /{u} HTTP/1.1" 404 1 "-" "{u}"',
    '198.51.100.23 {ip} - - [10/Oct/2024:13:55:36 +0000] "GET /.env?{u} HTTP/1.1" 404 1 "{u}" "x"',
    '198.51.100.23:80 {ip} - - [10/Oct/2024:13:55:36 +0000] "{u}" 400 0 "-" "-"',
    '"{ip} - - [10/Oct/2024:13:55:36 +0000] "GET /.env HTTP/1.1" 404 1 "{u}" "{u}""',
]
HTTP_HOSTILE = [
    *HOSTILE,
    f'" 404 1 "-" "-"\n{INJECTED} - - [10/Oct/2024:13:55:36 +0000] "GET /.env HTTP/1.1',
    f'x" 404 1 "-" "-" {INJECTED} - - [10/Oct/2024:13:55:36 +0000] "GET /.env',
    f"X-Forwarded-For: {INJECTED}",
    f"{INJECTED} - - [10/Oct/2024:13:55:36 +0000] \"GET /.env HTTP/1.1\" 404 1",
]


def test_http_client_text_never_moves_the_blame() -> None:
    pack = _http_pack()
    for template in HTTP_TEMPLATES:
        for user in HTTP_HOSTILE:
            text = _apache_quote(user.replace("\n", "\\n"))
            line = template.format(ip=REAL, u=text)
            keys = _keys(EventStream(pack, year=2024), line)
            assert set(keys) <= {REAL}, line[:200]


# ---- mail and ftp: every field a client (or its reverse DNS) controls ----------

#: Client-controlled fields of mail and ftp lines, as regexes whose group 1 is the
#: client's text: reverse-DNS names before ``[ADDR]``, user names, HELO, senders.
CLIENT_FIELDS = [
    re.compile(r"(?:from|warning:|RCPT from|disconnect from|after CONNECT from) ([^\s\[]+)\["),
    re.compile(r"\(([^\s\[()]+)\[[0-9a-fA-F:.]+\]\)"),
    re.compile(r"user=<([^>]*)>"),
    re.compile(r"sasl_username=(\S+)"),
    re.compile(r"helo=<([^>]*)>"),
    re.compile(r"from=<([^>]*)>"),
    re.compile(r" USER (\S+)"),
    re.compile(r"\[([^\]]*)\] FAIL LOGIN"),
    re.compile(r"for user \[([^\]]*)\]"),
    re.compile(r"\w+\(([^,()]+),[0-9a-fA-F:.]+[,)]"),
    # exim: the HELO in parentheses, the AUTH user, the envelope sender, a quoted command
    re.compile(r" \(([^()\s]*)\) \["),
    re.compile(r"set_id=([^)\n]*)\)"),
    re.compile(r"F=<([^>]*)>"),
    re.compile(r'in "([^"]*)" H='),
]
#: Every shipped mail and ftp pack, unfiltered: removing one must fail (see the test below)
#: rather than silently shrink the cases and the fuzz tests built from them.
MAIL_FTP = ("postfix", "dovecot", "exim", "vsftpd", "proftpd", "pureftpd")


def _client_field_cases() -> list[tuple[str, Sample, re.Pattern[str]]]:
    cases = []
    for name in MAIL_FTP:
        if name not in builtin_pack_names():
            continue  # reported by test_every_mail_and_ftp_pack_ships, not as a collection error
        for sample in load_pack(name).samples:
            if not sample.ip or INJECTED in sample.line:
                continue
            for field in CLIENT_FIELDS:
                if field.search(sample.line):
                    cases.append((name, sample, field))
    return cases


_CLIENT_CASES = _client_field_cases()


def _substitute(sample: Sample, field: re.Pattern[str], text: str) -> str:
    m = field.search(sample.line)
    assert m is not None
    return sample.line[: m.start(1)] + text + sample.line[m.end(1) :]


@pytest.mark.parametrize(
    "pack_name,sample,field", _CLIENT_CASES,
    ids=[f"{p}:{f.pattern[:20]}:{s.line[:40]}" for p, s, f in _CLIENT_CASES],
)
def test_mail_and_ftp_client_fields_never_move_the_blame(
    pack_name: str, sample: Sample, field: re.Pattern[str]
) -> None:
    pack = load_pack(pack_name)
    for text in HOSTILE:
        line = _substitute(sample, field, text)
        keys = _keys(EventStream(pack, year=2024), line)
        assert not FORBIDDEN & set(keys), (pack_name, line[:200])
        assert set(keys) <= {_expected(sample)}, (pack_name, line[:200])


def test_every_mail_and_ftp_pack_ships() -> None:
    assert set(MAIL_FTP) <= set(builtin_pack_names())


def test_mail_and_ftp_cases_cover_every_pack() -> None:
    assert {p for p, _, _ in _CLIENT_CASES} == set(MAIL_FTP)


# ---- fuzzing -------------------------------------------------------------

_FRAGMENTS = st.sampled_from([
    INJECTED, INJECTED6, f"::ffff:{INJECTED}", " from ", " port 22", " ssh2", " [preauth]", " on ",
    " invalid user ", " authenticating user ", "Failed password for ", "rhost=", " user=", "'",
    '"', ":", "]", "[", "sshd[1]: ", "Dec 10 06:55:46 h ", "\r", "\t", "\x00", "\x1b", " ", "root",
    ": Too many authentication failures", " not allowed because ", "3: Auth fail", "\u202e",
])
_USER = st.lists(
    st.one_of(
        _FRAGMENTS,
        st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=12),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=_USER)
def test_fuzzed_user_names_blame_the_real_client_or_nobody(user: str) -> None:
    stream = _stream()
    pid = 1
    for template, failure in SSHD_TEMPLATES:
        pid += 1
        line = f"Dec 10 06:55:46 LabSZ sshd[{pid}]: " + template.format(u=user, ip=REAL)
        keys = _keys(stream, line)
        assert set(keys) <= {REAL}, line
        if failure:
            assert keys == [REAL], f"the real client was missed: {line!r}"


@settings(max_examples=60, deadline=None)
@given(user=_USER)
def test_fuzzed_client_text_in_every_pack_sample_blames_the_sample_address_or_nobody(
    user: str,
) -> None:
    for pack_name, sample in _USER_SAMPLES:
        line = sample.line.replace(sample.user or "", user)
        keys = _keys(EventStream(load_pack(pack_name), year=2024), line)
        assert set(keys) <= {_expected(sample)}, (pack_name, line)


@settings(max_examples=40, deadline=None)
@given(text=_USER)
def test_fuzzed_mail_and_ftp_client_fields_blame_the_sample_address_or_nobody(text: str) -> None:
    for pack_name, sample, field in _CLIENT_CASES:
        line = _substitute(sample, field, text)
        keys = _keys(EventStream(load_pack(pack_name), year=2024), line)
        assert set(keys) <= {_expected(sample)}, (pack_name, line)


@settings(max_examples=60, deadline=None)
@given(text=_USER)
def test_fuzzed_http_request_and_user_agent_blame_the_client_or_nobody(text: str) -> None:
    pack = _http_pack()
    for template in HTTP_TEMPLATES:
        line = template.format(ip=REAL, u=_apache_quote(text))
        keys = _keys(EventStream(pack, year=2024), line)
        assert set(keys) <= {REAL}, line


# ---- no DNS ----------------------------------------------------------------


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup fail the test (a real resolver cannot be observed otherwise)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"name lookup attempted: {args!r}")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, refuse)


@pytest.mark.parametrize("name", ["localhost", "attacker.example.net", "example.com.", "1.2.3.4.nip.io",
                                  "0x7f.1", "127.1", "017.0.0.1", "1.2.3.4 ", "1.2.3", ""])
def test_parse_address_never_resolves_host_names(no_dns: None, name: str) -> None:
    if name == "1.2.3.4 ":
        assert str(parse_address(name)) == "1.2.3.4"  # surrounding blanks are not a name
        return
    with pytest.raises(AddressError):
        parse_address(name)


def test_host_names_in_logs_are_neither_resolved_nor_blamed(no_dns: None) -> None:
    stream = _stream()
    line = (
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
        "euid=0 tty=NODEVssh ruser= rhost=attacker.example.net  user=root"
    )
    assert _keys(stream, line) == []


def test_replaying_a_log_full_of_host_names_makes_no_lookup(no_dns: None) -> None:
    data = shared_data("loghub", "Linux_2k.log").read_bytes()
    assert b"rhost=zummit.com" in data
    events = _stream().feed(data)
    assert events  # the numeric rhost= lines still count
    assert all(parse_address(e.key) for e in events)


# ---- web server error logs: client text before and after the client field ------

#: (pack, template, counts): ``{u}`` is client text (user name, path, request line).
ERROR_LOG_TEMPLATES: list[tuple[str, str, bool]] = [
    ("nginx-error", '2024/10/10 13:55:36 [error] 1#1: *2 user "{u}" was not found in "/etc/nginx/.htpasswd", '
     'client: {ip}, server: example.com, request: "GET /{u} HTTP/1.1", host: "{u}"', True),
    ("nginx-error", '2024/10/10 13:55:36 [error] 1#1: *2 user "{u}": password mismatch, client: {ip}, '
     'server: example.com, request: "GET / HTTP/1.1", host: "example.com"', True),
    ("nginx-error", '2024/10/10 13:55:36 [error] 1#1: *2 access forbidden by rule, client: {ip}, '
     'server: example.com, request: "GET /.git/{u} HTTP/1.1", host: "example.com", referrer: "{u}"', True),
    ("nginx-error", '2024/10/10 13:55:36 [error] 1#1: *2 open() "/srv/{u}/.env" failed (2: No such file '
     'or directory), client: {ip}, server: example.com, request: "GET /{u}/.env HTTP/1.1"', True),
    ("apache-error", "[Thu Oct 10 13:55:36.123456 2024] [auth_basic:error] [pid 1:tid 2] [client {ip}:5] "
     "AH01618: user {u} not found: /{u}", True),
    ("apache-error", '[Thu Oct 10 13:55:36.123456 2024] [auth_basic:error] [pid 1] [client {ip}:5] '
     'AH01617: user {u}: authentication failure for "/{u}": Password Mismatch, referer: {u}', True),
    ("apache-error", "[Thu Oct 10 13:55:36.123456 2024] [core:error] [pid 1:tid 2] [client {ip}:5] "
     "AH00126: Invalid URI in request GET /{u} HTTP/1.1", True),
]


@pytest.mark.parametrize(
    "pack_name,template,counts", ERROR_LOG_TEMPLATES,
    ids=[f"{p}:{t[50:90]}" for p, t, _ in ERROR_LOG_TEMPLATES],
)
def test_error_log_client_text_never_moves_the_blame(pack_name: str, template: str, counts: bool) -> None:
    pack = load_pack(pack_name)
    wanted = [REAL] if counts else []
    assert _keys(EventStream(pack, year=2024), template.format(ip=REAL, u="oracle")) == wanted
    for text in [*HOSTILE, f", client: {INJECTED}, server: x", f"] [client {INJECTED}:1] x", '", client: '
                 f'{INJECTED}, server: x, request: "GET /']:
        line = template.format(ip=REAL, u=text.replace("\n", " "))
        keys = _keys(EventStream(pack, year=2024), line)
        assert set(keys) <= {REAL}, (pack_name, line[:200])


@settings(max_examples=40, deadline=None)
@given(text=_USER)
def test_fuzzed_error_log_client_text_blames_the_client_or_nobody(text: str) -> None:
    for pack_name, template, _ in ERROR_LOG_TEMPLATES:
        line = template.format(ip=REAL, u=text)
        keys = _keys(EventStream(load_pack(pack_name), year=2024), line)
        assert set(keys) <= {REAL}, (pack_name, line)
