"""A real OpenSSH server per lab member: its own config, host key, port and log.

:func:`render_sshd_config` is pure. The server runs in the foreground with
``-D -e`` (logs on stderr, which the lab stamps into a syslog-style file; see
:mod:`.syslog`) inside the member's namespace, so it never touches the host's
own sshd, its port or its log.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

SSHD = "/usr/sbin/sshd"
#: sshd insists on its compiled-in privilege separation folder.
PRIVSEP_DIR = Path("/run/sshd")


def render_sshd_config(
    listen: Sequence[str],
    port: int,
    host_key: Path,
    *,
    allow_users: Sequence[str] = (),
) -> str:
    """An sshd_config for a lab member.

    Password logins only (that is what a brute force attacks), no PAM (the lab
    must not depend on the host's PAM stack), a generous ``MaxStartups`` so the
    attacker is refused by our firewall and not by sshd's own throttling, and
    ``LogLevel INFO``: the level a stock Debian server logs at.
    """
    lines = [f"Port {port}"]
    lines += [f"ListenAddress {a if ':' not in a else '[' + a + ']'}" for a in listen]
    lines += [
        f"HostKey {host_key}",
        "PidFile none",
        "UsePAM no",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication no",
        "PermitRootLogin no",
        "PermitEmptyPasswords no",
        "StrictModes no",
        "UseDNS no",
        "LogLevel INFO",
        "SyslogFacility AUTH",
        "MaxAuthTries 6",
        "MaxStartups 200:30:400",
        "LoginGraceTime 15",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "PrintMotd no",
    ]
    if allow_users:
        lines.append("AllowUsers " + " ".join(allow_users))
    return "\n".join(lines) + "\n"


def keygen_argv(path: Path) -> list[str]:
    """Create an Ed25519 host key at ``path`` (no passphrase)."""
    return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shieldwall-lab", "-f", str(path)]


def sshd_argv(config: Path) -> list[str]:
    """Run sshd in the foreground, logging to stderr."""
    return [SSHD, "-D", "-e", "-f", str(config)]
