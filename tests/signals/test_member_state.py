"""The member state on disk: old files still load, the address list and pins are checked."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest

from shieldwall.errors import ConfigError
from shieldwall.hub.identity import fingerprint, make_certificate
from shieldwall.signals.member_state import (
    CERT_FILE,
    STATE_FILE,
    MemberState,
    certificate_fingerprints,
    load_member_state,
    pinned_context,
    save_member_state,
)

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def certificate() -> str:
    return make_certificate(["127.0.0.1"], NOW)[0].decode("ascii")


CERT_A, CERT_B = certificate(), certificate()
FP_A, FP_B = fingerprint(CERT_A), fingerprint(CERT_B)


def write_old_state(folder: Path, **extra: object) -> None:
    """member.json as members that joined before replicas wrote it (plus ``extra`` keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"name": "web1", "hub": "127.0.0.1:8443", "fingerprint": FP_A, "key_id": "k1",
              "seed": base64.b64encode(b"\x01" * 32).decode(), **extra}
    (folder / STATE_FILE).write_text(json.dumps(record))
    (folder / CERT_FILE).write_text(CERT_A)


def state(folder: Path, **changes: object) -> MemberState:
    fields: dict[str, object] = {
        "data_dir": folder, "name": "web1", "hub": "10.0.0.1:8443", "fingerprint": FP_A,
        "cert_pem": CERT_A, "key_id": "k1", "seed": b"\x02" * 32, **changes,
    }
    return MemberState(**fields)  # type: ignore[arg-type]


def test_a_state_file_from_before_replicas_still_loads(tmp_path: Path) -> None:
    write_old_state(tmp_path)
    loaded = load_member_state(tmp_path)
    assert loaded.addresses == ("127.0.0.1:8443",) and loaded.fingerprints == (FP_A,)
    assert loaded.missing_pins() == ()


def test_a_single_address_state_is_written_as_before(tmp_path: Path) -> None:
    save_member_state(state(tmp_path))
    assert set(json.loads((tmp_path / STATE_FILE).read_text())) == {
        "name", "hub", "fingerprint", "key_id", "seed"}


def test_replicas_and_pins_round_trip(tmp_path: Path) -> None:
    saved = state(tmp_path, replicas=("10.0.0.2:8443", "hub.example.org:443"), pins=(FP_B,),
                  cert_pem=CERT_A + CERT_B)
    save_member_state(saved)
    assert load_member_state(tmp_path) == saved


def test_a_pin_whose_replica_was_down_at_join_is_missing_until_learnt(tmp_path: Path) -> None:
    saved = state(tmp_path, replicas=("10.0.0.2:8443",), pins=(FP_B,))
    save_member_state(saved)
    assert load_member_state(tmp_path).missing_pins() == (FP_B,)


def test_the_trust_store_holds_every_pinned_certificate() -> None:
    context = pinned_context(CERT_A + CERT_B)
    assert len(context.get_ca_certs()) == 2
    assert certificate_fingerprints(CERT_A + CERT_B) == [FP_A, FP_B]


@pytest.mark.parametrize(("extra", "message"), [
    ({"replicas": ["10.0.0.2"]}, "port"),
    ({"replicas": ["https://evil:1"]}, "port|host"),
    ({"replicas": ["10.0.0.2:8443 "]}, "host:port"),
    ({"replicas": [f"10.0.1.{i}:1" for i in range(16)]}, "unreadable"),
    ({"replicas": "10.0.0.2:8443"}, "unreadable"),
    ({"pins": ["AB" * 32]}, "fingerprint"),
    ({"pins": [FP_B]}, ""),  # valid shape, but hub.pem holds only A: fine, B is missing
    ({"address_book": ["x:1"]}, "unreadable"),
])
def test_a_tampered_state_file_is_refused_saying_where(
    tmp_path: Path, extra: dict[str, object], message: str
) -> None:
    write_old_state(tmp_path, **extra)
    if not message:
        assert load_member_state(tmp_path).missing_pins() == (FP_B,)
        return
    with pytest.raises(ConfigError, match=message):
        load_member_state(tmp_path)


def test_a_certificate_file_holding_an_unpinned_certificate_is_refused(tmp_path: Path) -> None:
    write_old_state(tmp_path)
    (tmp_path / CERT_FILE).write_text(CERT_A + CERT_B)
    with pytest.raises(ConfigError, match="pinned hub certificates"):
        load_member_state(tmp_path)
    (tmp_path / CERT_FILE).write_text("not a certificate")
    with pytest.raises(ConfigError, match="pinned hub certificates"):
        load_member_state(tmp_path)
