"""What the lab's attacker (and admin) run: argv lists only, no I/O.

SSH attempts go through ``sshpass`` + the OpenSSH client, one password per
connection (``NumberOfPasswordPrompts=1``), so each attempt is exactly one
``Failed password`` line on the server. Web probes use curl. Reachability is
checked with a plain TCP connect from a chosen source address.
"""

from __future__ import annotations

import sys

#: Paths a scanner looks for first; the http pack calls them probes.
PROBE_PATHS = ("/.env", "/wp-login.php")

_TCP_PROBE = """
import socket, sys
src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(timeout)
try:
    s.bind((src, 0))
    s.connect((dst, port))
    print("open")
except OSError as exc:
    print("closed", exc)
finally:
    s.close()
"""


def ssh_attempt_argv(
    source: str, target: str, user: str, password: str, port: int = 22, timeout: int = 4
) -> list[str]:
    """One SSH login attempt with one password, from ``source``, ending in ``true``."""
    return [
        "sshpass", "-p", password,
        "ssh",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password",
        "-o", "NumberOfPasswordPrompts=1",
        "-o", f"ConnectTimeout={timeout}",
        "-o", "LogLevel=ERROR",
        "-b", source,
        "-p", str(port),
        "-l", user,
        target,
        "true",
    ]


def http_probe_argv(source: str, target: str, path: str, port: int = 80,
                    timeout: int = 3) -> list[str]:
    """One HTTP GET of ``path``; prints the status code."""
    host = f"[{target}]" if ":" in target else target
    return ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout),
            "--interface", source, "-A", "Mozilla/5.0 (lab attacker)",
            f"http://{host}:{port}{path}"]


def tcp_probe_argv(source: str, target: str, port: int, timeout: float = 1.5) -> list[str]:
    """A TCP connect from ``source``; prints ``open`` or ``closed <why>``."""
    return [sys.executable, "-c", _TCP_PROBE, source, target, str(port), str(timeout)]
