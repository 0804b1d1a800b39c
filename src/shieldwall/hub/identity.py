"""The hub's identity: an Ed25519 key and a self-signed TLS certificate.

Members pin the certificate by its SHA-256 fingerprint (carried in join
tokens), so the certificate need not come from any authority.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shieldwall.errors import HubError
from shieldwall.signals.keys import new_seed

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
IDENTITY_FILE = "identity.key"


def fingerprint(cert_pem: bytes | str) -> str:
    """Hex SHA-256 of a PEM certificate's DER bytes (what join tokens carry)."""
    text = cert_pem.decode("ascii") if isinstance(cert_pem, bytes) else cert_pem
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(text)).hexdigest()


def make_certificate(hosts: Iterable[str], now: datetime.datetime) -> tuple[bytes, bytes]:
    """A self-signed ECDSA P-256 certificate for ``hosts``: (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, "localhost", "127.0.0.1", "::1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shieldwall hub")])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Members trust exactly this certificate; marking it a CA lets OpenSSL use it
        # as its own trust anchor without any other chain.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def create_identity(data_dir: Path, hosts: Iterable[str], now: datetime.datetime) -> str:
    """Create the Ed25519 identity and TLS certificate; returns the fingerprint.

    Refuses to overwrite an existing identity: members have pinned it.
    """
    if (data_dir / CERT_FILE).exists() or (data_dir / IDENTITY_FILE).exists():
        raise HubError(f"{data_dir} already holds a hub identity; members have pinned it")
    cert_pem, key_pem = make_certificate(hosts, now)
    write_private(data_dir / IDENTITY_FILE, new_seed())
    write_private(data_dir / KEY_FILE, key_pem)
    (data_dir / CERT_FILE).write_bytes(cert_pem)
    return fingerprint(cert_pem)
