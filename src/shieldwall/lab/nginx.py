"""A real nginx on a lab member, with its own prefix, config and access log.

:func:`render_nginx_config` is pure; the server runs with ``-p PREFIX -c CONF``
in the foreground (``daemon off``) inside the member's namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

NGINX = "/usr/sbin/nginx"


def render_nginx_config(prefix: Path, listen: Sequence[str], port: int = 80) -> str:
    """An nginx.conf: combined access log, 200 on ``/``, 404 elsewhere."""
    listens = "\n".join(
        f"        listen {'[' + a + ']' if ':' in a else a}:{port};" for a in listen
    )
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{
    worker_connections 128;
}}
http {{
    access_log {prefix / 'access.log'} combined;
{temp}
    server {{
{listens}
        server_name _;
        location = / {{
            return 200 "shieldwall lab\\n";
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


def nginx_argv(prefix: Path) -> list[str]:
    """Run nginx in the foreground with the lab's prefix and config."""
    return [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "error.log")]
