"""A member's side of its membership: key, hub address, pinned certificate, sequence.

Stored under the member's data folder (default ``/var/lib/shieldwall/member``)::

    member.json   name, hub address(es), certificate fingerprint(s), key id (mode
                  0600, with the Ed25519 seed)
    hub.pem       the hub's pinned certificate (one per replica when they differ)
    seq           the last envelope sequence number used

The agent calls :func:`load_member_state` once and hands the result to
:class:`shieldwall.signals.client.HubClient` and
:class:`shieldwall.decisions.follow.DecisionFollower`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from shieldwall.errors import ConfigError, HubError
from shieldwall.signals.hub_addresses import MAX_ADDRESSES, check_addresses, check_fingerprints

DEFAULT_MEMBER_DIR = Path("/var/lib/shieldwall/member")
STATE_FILE = "member.json"
CERT_FILE = "hub.pem"
SEQ_FILE = "seq"


_More = Annotated[tuple[str, ...], msgspec.Meta(max_length=MAX_ADDRESSES - 1)]
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.DOTALL)


class _StateFile(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    hub: str
    fingerprint: str
    key_id: str
    seed: str
    # Added for a hub run as replicas; absent from older state files.
    replicas: _More = ()
    pins: _More = ()


@dataclass(frozen=True)
class MemberState:
    """Everything a member needs to talk to its hub."""

    data_dir: Path
    name: str
    #: ``host:port`` of the hub.
    hub: str
    fingerprint: str
    cert_pem: str
    key_id: str
    seed: bytes
    #: The hub's other addresses (replicas), in the order they are tried.
    replicas: tuple[str, ...] = ()
    #: Fingerprints of other replicas' certificates (empty: one shared certificate).
    pins: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address of the hub, :attr:`hub` first."""
        return (self.hub, *self.replicas)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every certificate fingerprint this member trusts."""
        return (self.fingerprint, *self.pins)

    @property
    def base_url(self) -> str:
        """``https://host:port`` of the first address."""
        return f"https://{self.hub}"

    def missing_pins(self) -> tuple[str, ...]:
        """Fingerprints whose certificate is not in :attr:`cert_pem` yet (replica down at join)."""
        held = set(certificate_fingerprints(self.cert_pem))
        return tuple(fp for fp in self.fingerprints if fp not in held)

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context that trusts exactly the pinned hub certificate.

        Host names are not checked: the certificate is pinned, which is stronger
        than a name match, and the hub may be reached by an address not in it.
        """
        return pinned_context(self.cert_pem)


def certificate_blocks(cert_pem: str) -> list[str]:
    """Each PEM certificate in ``cert_pem``, in order, ending with a newline."""
    return [block.rstrip("\n") + "\n" for block in _PEM.findall(cert_pem)]


def certificate_fingerprints(cert_pem: str) -> list[str]:
    """The hex SHA-256 of each certificate in ``cert_pem`` (PEM blocks, in order)."""
    return [
        hashlib.sha256(ssl.PEM_cert_to_DER_cert(block)).hexdigest()
        for block in certificate_blocks(cert_pem)
    ]


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client TLS context whose only trust anchors are the certificates in ``cert_pem``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    # Every hub certificate is self-signed under one subject name, and OpenSSL looks a
    # trust anchor up by name: of several pinned certificates it would try the first
    # only, and refuse the other replicas'. With a partial chain allowed, the presented
    # certificate itself is looked up in the pinned set (an exact match), so each
    # pinned one is trusted and any other still refused. The set holds nothing else.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=cert_pem)
    return context


def write_private(path: Path, data: bytes) -> None:
    """Atomically write a file readable by its owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save_member_state(state: MemberState) -> None:
    """Write the state files (creating the folder, mode 0700)."""
    state.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = _StateFile(
        name=state.name, hub=state.hub, fingerprint=state.fingerprint,
        key_id=state.key_id, seed=base64.b64encode(state.seed).decode("ascii"),
        replicas=state.replicas, pins=state.pins,
    )
    write_private(state.data_dir / CERT_FILE, state.cert_pem.encode("ascii"))
    write_private(state.data_dir / STATE_FILE, msgspec.json.format(msgspec.json.encode(record)))


def load_member_state(data_dir: Path = DEFAULT_MEMBER_DIR) -> MemberState:
    """Read a member's state; raises :class:`ConfigError` saying how to fix it."""
    path = data_dir / STATE_FILE
    try:
        record = msgspec.json.decode(path.read_bytes(), type=_StateFile)
        cert_pem = (data_dir / CERT_FILE).read_text()
        seed = base64.b64decode(record.seed, validate=True)
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found: this host has not joined a hub; run `shieldwall join TOKEN`"
        ) from None
    except (OSError, ValueError, msgspec.DecodeError) as exc:
        raise ConfigError(f"{path}: member state is unreadable: {exc}") from None
    if len(seed) != 32:
        raise ConfigError(f"{path}: seed must be 32 bytes")
    try:
        addresses = check_addresses((record.hub, *record.replicas))
        fingerprints = check_fingerprints((record.fingerprint, *record.pins))
    except HubError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    held = certificate_fingerprints(cert_pem)
    if not held or any(fp not in fingerprints for fp in held):
        raise ConfigError(f"{data_dir / CERT_FILE} does not hold exactly the pinned hub"
                          " certificates; `shieldwall leave` and join again")
    return MemberState(
        data_dir=data_dir, name=record.name, hub=addresses[0], fingerprint=fingerprints[0],
        cert_pem=cert_pem, key_id=record.key_id, seed=seed, replicas=addresses[1:],
        pins=fingerprints[1:],
    )


class SequenceCounter:
    """Envelope sequence numbers that only grow, even across a lost state file.

    The next number is the larger of the last one used plus one and the current
    time in microseconds, so losing the ``seq`` file (or a crash before it was
    written) cannot make the member reuse a number the hub already applied.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SEQ_FILE
        try:
            self.last = int(self.path.read_text().strip() or 0)
        except FileNotFoundError:
            self.last = 0
        except (OSError, ValueError) as exc:
            raise HubError(f"{self.path}: unreadable sequence file: {exc}") from None

    def next(self, now: float) -> int:
        """The next sequence number; persisted before it is returned."""
        self.last = max(self.last + 1, int(now * 1_000_000))
        tmp = self.path.with_name(SEQ_FILE + ".tmp")
        tmp.write_text(str(self.last))
        os.replace(tmp, self.path)
        return self.last
