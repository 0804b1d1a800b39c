"""Mail and FTP packs: client text can never move the blame to another address.

Each template puts fuzzed client text where the service writes client text (the
login name, SASL user, HELO, reverse-DNS name, tried account) and the real
client where the service writes it; the fragments imitate each service's own
suffixes. The line may blame the real client or nobody - never anybody else.

``{h}`` is a HELO name as Exim writes it by default: without blanks or parentheses (with
``helo_accept_junk_hosts`` a HELO may hold both, and the exim pack documents that such a
HELO can forge what follows it).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

REAL = "192.0.2.77"
FAKE = "198.51.100.23"

TEMPLATES = {
    "dovecot": [
        "Jun 13 16:30:54 h dovecot: imap-login: Disconnected (auth failed, 1 attempts): "
        "user=<{u}>, method=PLAIN, rip={ip}, lip=203.0.113.1, TLS, session=<abc>",
        "Jun 13 16:30:54 h dovecot: imap-login: Aborted login (auth failed, 2 attempts in 4 secs): "
        "user=<{u}>, rip={ip}, lip=203.0.113.1",
        "Jan 29 05:32:50 h dovecot: auth-worker(304): pam({u},{ip}): pam_authenticate() failed: "
        "Authentication failure (password mismatch?)",
        "Jan 29 05:32:50 h dovecot: auth: sql({u},{ip},<sess>): Password mismatch (given password: {u})",
        "Apr 19 05:22:20 h dovecot: pam_unix(dovecot:auth): authentication failure; logname= uid=0 "
        "euid=0 tty=dovecot ruser={u} rhost={ip} user={u}",
    ],
    "postfix": [
        "Mar 10 13:33:30 h postfix/smtpd[3937]: warning: unknown[{ip}]: SASL LOGIN authentication "
        "failed: (reason unavailable), sasl_username={u}",
        "Jul 12 07:47:48 h postfix/smtpd[8738]: NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 "
        "<{u}>: Relay access denied; from=<{u}> to=<{u}> proto=SMTP helo=<{u}>",
        "Oct 31 12:38:21 h postfix/smtpd[2634372]: warning: non-SMTP command from unknown[{ip}]: {u}",
        "Dec 23 19:39:13 h postfix/postscreen[21057]: PREGREET 14 after 0.08 from [{ip}]:59415: {u}",
    ],
    "exim": [
        "2024-03-21 19:26:06 dovecot_login authenticator failed for (User) [{ip}]:21298 "
        "I=[203.0.113.5]:465 Ci=30416: 535 Incorrect authentication data (set_id={u})",
        "2013-01-04 17:03:46 login authenticator failed for ({h}) [{ip}]: 535 Incorrect authentication data",
        "2013-06-15 16:36:49 H=({h}) [{ip}]:43030 I=[203.0.113.2]:25 F=<{u}> rejected RCPT <{u}>: "
        "Unknown user",
        '2016-03-18 00:34:06 [7513] SMTP protocol error in "{u}" H=(ylmf-pc) [{ip}]:60723 '
        "I=[203.0.113.6]:587 AUTH command used when not advertised",
        '2013-06-02 09:22:06 SMTP call from [{ip}] dropped: too many syntax or protocol errors '
        '(last command was "{u}")',
        "2016-04-01 11:08:00 [8001] no MAIL in SMTP connection from ({h}) [{ip}]:20042 "
        "I=[203.0.113.1]:25 D=0.349s C=EHLO,AUTH,QUIT",
    ],
    "vsftpd": [
        'Sep  8 00:39:49 h vsftpd[15019]: [{u}] FAIL LOGIN: Client "{ip}"',
        # vsftpd's own log file
        'Mon Jun  8 12:08:53 2020 [pid 27244] [{u}] FAIL LOGIN: Client "{ip}"',
        'Thu Sep  8 00:39:49 2016 [pid 15019] [{u}] FAIL LOGIN: Client "::ffff:{ip}", "User is not '
        'in the allow user list."',
        'Sep  8 00:39:49 h vsftpd[15019]: [pid 1] [{u}] FAIL LOGIN: Client "{ip}", "User is not in '
        'the allow user list."',
        "Oct 23 21:15:42 h vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 "
        "euid=0 tty=ftp ruser={u} rhost={ip} user={u}",
    ],
    "proftpd": [
        "Jan  7 18:26:52 h proftpd[80686]: ftp.example.com (client.example.net[{ip}]) - USER {u} "
        "(Login failed): Incorrect password",
        "Jan  7 18:26:02 h proftpd[80283]: ftp.example.com (c[{ip}]) - USER {u}: no such user found "
        "from c [{ip}] to 203.0.113.1:21",
    ],
    "pureftpd": [
        "Jan 31 16:54:07 h pure-ftpd: (?@{ip}) [WARNING] Authentication failed for user [{u}]",
    ],
}

_FRAGMENTS = st.sampled_from([
    FAKE, f"::ffff:{FAKE}", "2001:db8:dead::1", ">, method=PLAIN, rip=", ", lip=", "rip=", " rhost=",
    " user=", ",", ")", "(", "<", ">", "[", "]", '"', "'", ": ", " ", "unknown[", "]: ",
    " FAIL LOGIN: Client \"", "] FAIL LOGIN: Client \"", '", "', "[pid 1] ", "(?@",
    ") [WARNING] Authentication failed for user [",
    " (Login failed)", ": no such user found from ", " - USER ", "sasl_username=", "\r", "\t",
    "): unknown user", "(auth failed, 1 attempts): user=<", " SASL LOGIN authentication failed: ",
    f"[{FAKE}]", f") [{FAKE}]:25", " H=(", f'" H=(x) [{FAKE}] ', " F=<", "> rejected RCPT <",
    ": 535 Incorrect authentication data (set_id=", " I=[", " D=0s C=EHLO,AUTH,QUIT",
])
_CLIENT_TEXT = st.lists(
    st.one_of(
        _FRAGMENTS,
        st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=8),
    ),
    max_size=10,
).map("".join)

PACKS = {name: load_pack(name) for name in TEMPLATES}


def _helo(text: str) -> str:
    return re.sub(r"[\s()]", "", text)


def test_every_mail_and_ftp_pack_has_templates() -> None:
    # explicit, so a mail or ftp pack without templates (or a template set for a removed
    # pack) fails here instead of being fuzzed by nothing
    assert sorted(TEMPLATES) == ["dovecot", "exim", "postfix", "proftpd", "pureftpd", "vsftpd"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_CLIENT_TEXT)
def test_client_text_in_mail_and_ftp_lines_blames_the_real_client_or_nobody(text: str) -> None:
    for name, templates in TEMPLATES.items():
        for template in templates:
            line = template.format(u=text, h=_helo(text), ip=REAL)
            events = EventStream(PACKS[name], year=2024).feed(line.encode("utf-8") + b"\n")
            assert {e.key for e in events} <= {REAL}, (name, line)


def test_the_templates_blame_the_real_client_with_a_plain_name() -> None:
    for name, templates in TEMPLATES.items():
        for template in templates:
            line = template.format(u="alice", h="alice", ip=REAL)
            events = EventStream(PACKS[name], year=2024).feed(line.encode() + b"\n")
            assert [e.key for e in events] == [REAL], (name, line)
