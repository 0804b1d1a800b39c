"""The http pack's contract: lawful traffic is silent, every 4xx is counted,
a probe is reported as a probe, and only the first field is ever blamed."""

from __future__ import annotations

import re

import pytest

from shieldwall.addresses import blame_key_from_text
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream
from tests.conftest import shared_data

HTTP = load_pack("http")
T = "[10/Oct/2024:13:55:36 +0000]"
UA = '"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"'

LAWFUL = [
    f'203.0.113.5 - - {T} "GET / HTTP/1.1" 200 612 "-" {UA}',
    f'203.0.113.5 - - {T} "GET /blog/2024/10/hello-world/ HTTP/2.0" 200 9120 "https://example.org/" {UA}',
    f'203.0.113.5 - - {T} "GET /static/app.3f2a.js HTTP/2.0" 304 0 "https://example.org/" {UA}',
    f'203.0.113.5 - alice {T} "POST /login HTTP/1.1" 302 0 "https://example.org/login" {UA}',
    f'203.0.113.5 - - {T} "GET /wp-admin/ HTTP/1.1" 302 0 "-" {UA}',
    f'203.0.113.5 - - {T} "POST /wp-login.php HTTP/1.1" 200 4120 "https://example.org/wp-login.php" {UA}',
    f'203.0.113.5 - - {T} "GET /search?q=union+station+select+menu HTTP/1.1" 200 812 "-" {UA}',
    f'203.0.113.5 - - {T} "GET /api/v1/items?page=2&sort=-date HTTP/1.1" 200 1812 "-" "curl/8.5.0"',
    f'203.0.113.5 - - {T} "GET /.well-known/security.txt HTTP/1.1" 404 150 "-" {UA}',
    f'203.0.113.5 - - {T} "GET /favicon.ico HTTP/1.1" 404 150 "-" {UA}',
    f'203.0.113.5 - - {T} "GET /img/missing.png HTTP/1.1" 404 150 "https://example.org/" {UA}',
    f'203.0.113.5 - - {T} "GET /video HTTP/1.1" 206 65536 "-" {UA}',
    f'203.0.113.5 - - {T} "GET /page HTTP/1.1" 499 0 "-" {UA}',
    f'2001:db8::5 - - {T} "GET /feed.xml HTTP/1.1" 200 4000 "-" "Feedly/1.0"',
    f'203.0.113.5 - - {T} "GET / HTTP/1.1" 200 612',  # common log format
]


@pytest.mark.parametrize("line", LAWFUL)
def test_lawful_requests_produce_no_event(line: str) -> None:
    assert EventStream(HTTP, year=2024).feed(line.encode() + b"\n") == []


_STATUS = re.compile(rb'" (\d{3}|-) ')
_BROWSER_NOISE = re.compile(
    rb'\] "(?:GET|HEAD) (?:/(?:favicon\.ico|apple-touch-icon|robots\.txt|\.well-known/|(?:app-)?ads\.txt|'
    rb'sitemap|humans\.txt|browserconfig\.xml|crossdomain\.xml|site\.webmanifest|manifest\.json)\S*|'
    rb'\S*\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|otf|eot|mp4|webm|mp3)(?:\?\S*)?) '
)


def _honeynet() -> list[bytes]:
    folder = shared_data("honeynet-chuvakin-httpd", "httpd")
    return [
        line
        for path in sorted(folder.glob("access_log*"))
        for line in path.read_bytes().splitlines()
        if line
    ]


def test_every_4xx_of_a_real_log_is_an_event_unless_browsers_cause_it() -> None:
    """Every 4xx from an address, that is: a host name in the first field blames nobody."""
    stream = EventStream(HTTP, year=2004)
    missed = []
    for line in _honeynet():
        status = _STATUS.search(line)
        if status is None or not status.group(1).startswith(b"4") or status.group(1) in (b"408", b"499"):
            continue
        if _BROWSER_NOISE.search(line):
            continue
        if blame_key_from_text(line.split(b" ", 1)[0].decode("ascii", "replace")) is None:
            continue  # a host name (HostnameLookups On): never resolved, never blamed
        if not stream.feed(line + b"\n"):
            missed.append(line[:200])
    assert not missed, missed[:5]


def test_a_2xx_or_3xx_answer_counts_only_as_a_probe_or_a_scanner_user_agent() -> None:
    stream = EventStream(HTTP, year=2004)
    for line in _honeynet():
        status = _STATUS.search(line)
        if status is None or status.group(1)[:1] not in (b"2", b"3"):
            continue
        for event in stream.feed(line + b"\n"):
            assert event.kind in ("http_probe", "http_scanner_ua"), line[:200]


def test_the_blamed_address_is_always_the_first_field_of_a_real_log() -> None:
    stream = EventStream(HTTP, year=2004)
    for line in _honeynet():
        for event in stream.feed(line + b"\n"):
            assert line.startswith(event.key.encode() + b" "), line[:200]


@pytest.mark.parametrize(
    ("request_line", "status", "kind"),
    [
        ("GET /.env", 404, "http_probe"),
        ("GET /wp-login.php", 404, "http_probe"),
        ("GET /cgi-bin/test.cgi", 404, "http_probe"),
        ("GET /phpMyAdmin/index.php", 404, "http_probe"),
        ("GET /no-such-page", 404, "http_error"),
        ("POST /xmlrpc.php", 403, "http_probe"),
    ],
)
def test_a_probe_is_reported_as_a_probe_and_other_4xx_as_errors(
    request_line: str, status: int, kind: str
) -> None:
    line = f'198.51.100.7 - - {T} "{request_line} HTTP/1.1" {status} 10 "-" {UA}'
    [event] = EventStream(HTTP, year=2024).feed(line.encode() + b"\n")
    assert event.kind == kind


# A line that lacks its closing quote (a broken or hostile file: a server always writes
# it) lets a field's run go on into the next line; the engines cut such a match back to
# its own line, so the next line is judged alone and nobody is blamed for it but its client.
UNCLOSED = [
    f'198.51.100.1 - - {T} "GET /unclosed',
    f'198.51.100.2 - - {T} "GET /x HTTP/1.1" 404 1 "-',
    f'203.0.113.9 - - {T} "GET /.env HTTP/1.1" 404 1 "-" {UA}',
    f'203.0.113.10 - - {T} "GET /missing HTTP/1.1" 404 1 "-" {UA}',
    f'198.51.100.3 - - {T} "GET /x HTTP/1.1" 200 1 "-" "sqlmap/1.7',
    f'203.0.113.11 - - {T} "GET / HTTP/1.1" 200 1 "-" "Nikto/2.5"',
]


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_line_without_its_closing_quote_never_carries_the_next_line(engine: str) -> None:
    from shieldwall.events import engine as engines

    if engine == "compiled" and engines.compiled is None:
        pytest.skip("no compiled engine here (no C compiler when the package was built)")
    data = ("\n".join(UNCLOSED) + "\n").encode()
    events = EventStream(HTTP, year=2024, engine=engine).feed(data)
    assert [(e.key, e.pattern) for e in events] == [
        ("198.51.100.2", "client_error"),  # its own status is a 404: what it said of itself
        ("203.0.113.9", "probe_secret"), ("203.0.113.10", "client_error"),
        ("198.51.100.3", "scanner_ua"),  # its user agent names the tool before the line ends
        ("203.0.113.11", "scanner_ua"),
    ]
    for event in events:
        assert event.line.startswith(event.key.encode() + b" ")  # each its own line, whole
        assert event.line.decode() in UNCLOSED
