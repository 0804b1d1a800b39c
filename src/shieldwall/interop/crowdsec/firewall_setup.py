"""What ``shieldwall bouncer setup firewall`` writes for Debian's crowdsec-firewall-bouncer.

Two files. The package's ``.local`` override (merged over its YAML config),
holding the API URL and key; and a systemd drop-in, because the bouncer exits
with status 0 when its first pull fails and its unit has no ``Restart=``: a
bouncer started before this member's bouncer API would stay off until someone
noticed. Rendering is pure; :func:`write_setup` only writes the files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shieldwall.errors import ConfigError

CONFIG_LOCAL = "crowdsec/bouncers/crowdsec-firewall-bouncer.yaml.local"
DROP_IN = "systemd/system/crowdsec-firewall-bouncer.service.d/shieldwall.conf"
MARK = "# Written by `shieldwall bouncer setup firewall`"
UNIT = "shieldwall-crowdsec-bouncers.service"


@dataclass(frozen=True, slots=True)
class FirewallSetup:
    """The bouncer's settings: where to pull, with which key, how."""

    api_url: str
    api_key: str
    mode: str = "nftables"
    update_frequency: str = ""


def _yaml_scalar(text: str, what: str) -> str:
    # Values go into YAML: refuse anything that could change its structure.
    if not text or any(c in text for c in "\n\r\"'#") or text != text.strip():
        raise ConfigError(f"{what} {text[:80]!r} cannot be written to the bouncer's YAML")
    return text


def render_config_local(setup: FirewallSetup) -> str:
    """The ``.local`` override: three settings (four with ``update_frequency``)."""
    if not setup.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"--url {setup.api_url!r} must start with http:// or https://")
    url = setup.api_url if setup.api_url.endswith("/") else setup.api_url + "/"
    lines = [
        MARK + ": this bouncer enforces Shieldwall's blocks.",
        f"mode: {_yaml_scalar(setup.mode, 'mode')}",
        f"api_url: {_yaml_scalar(url, '--url')}",
        f"api_key: {_yaml_scalar(setup.api_key, 'key')}",
    ]
    if setup.update_frequency:
        lines.append(f"update_frequency: {_yaml_scalar(setup.update_frequency, '--every')}")
    return "\n".join(lines) + "\n"


def render_drop_in() -> str:
    """The systemd drop-in: restart forever, start after this member's bouncer API."""
    return f"""{MARK}.
# crowdsec-firewall-bouncer exits 0 when its first pull fails (for example when
# it starts before Shieldwall's bouncer API) and its unit has no Restart=:
# without this, protection would silently stay off until someone restarts it.
[Unit]
Wants={UNIT}
After={UNIT}
StartLimitIntervalSec=0

[Service]
Restart=always
RestartSec=10
"""


def write_setup(root: Path, setup: FirewallSetup) -> list[Path]:
    """Write both files under ``root`` (``/etc``); returns their paths.

    A ``.local`` not written by Shieldwall is kept beside as ``.before-shieldwall``.
    """
    config = root / CONFIG_LOCAL
    drop_in = root / DROP_IN
    written = []
    try:
        config.parent.mkdir(parents=True, exist_ok=True)
        if config.exists() and not config.read_text(errors="replace").startswith(MARK):
            backup = config.with_name(config.name + ".before-shieldwall")
            if not backup.exists():
                os.replace(config, backup)
                written.append(backup)
        tmp = config.with_name(config.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(render_config_local(setup))
        os.replace(tmp, config)
        drop_in.parent.mkdir(parents=True, exist_ok=True)
        drop_in.write_text(render_drop_in())
    except OSError as exc:
        raise ConfigError(f"cannot write the bouncer's configuration: {exc} "
                          "(run as root, or choose --etc)") from None
    return [config, drop_in, *written]
