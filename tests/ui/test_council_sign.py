"""Taking a councillor's signature on the council page (``POST /ui/council/sign``) over
real HTTPS: the operator pastes the ``.sig`` file `shieldwall council sign` wrote; the
hub stores it only if it counts. Hostile pastes and forms are refused, nothing written.

The council is a real folder made with the `shieldwall council` CLI; the lab hub is
pointed at it by its config's ``council_dir`` after its members joined by invite (a hub
started under a council refuses invites: tests/hub/test_admitted.py), which is all the
council page and this route read.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import msgspec
import pytest

from shieldwall.governance import store
from shieldwall.governance.acts import signed_digest
from shieldwall.governance.signatures import Signature, sign_digest
from shieldwall.governance.status import proposal_status
from shieldwall.signals.keys import new_seed
from tests.cli.test_council_cli import Alliance
from tests.integration.hub_harness import hub_context
from tests.ui.lab import Lab, lab_alliance
from tests.ui.test_dashboard import operator_session

pytestmark = pytest.mark.timeout(120)


def council_with_two_proposals(root: Path) -> tuple[Alliance, str, str]:
    """A founded council (alice, bob, carol; 2 of 3) with two open policy proposals by alice."""
    root.mkdir()
    alliance = Alliance(root)
    alliance.found()
    ids = []
    for quorum in (3, 4):
        policy = root / f"policy-q{quorum}.toml"
        policy.write_text(f"quorum = {quorum}\n")
        before = set((alliance.folder / "proposals").iterdir())
        alliance.run("propose", "policy", str(alliance.folder), "--key", alliance.key("alice"),
                     "--file", str(policy))
        (made,) = set((alliance.folder / "proposals").iterdir()) - before
        ids.append(made.name)
    return alliance, ids[0], ids[1]


def signed_elsewhere(alliance: Alliance, pid: str, name: str) -> str:
    """What councillor ``name`` sends: the ``.sig`` file `council sign` writes in its own
    copy of the folder (the key never leaves that machine)."""
    copy = alliance.root / f"{name}-copy"
    shutil.copytree(alliance.folder, copy)
    before = set((copy / "proposals" / pid).glob("*.sig"))
    alliance.run("sign", str(copy), pid, "--key", alliance.key(name))
    (made,) = set((copy / "proposals" / pid).glob("*.sig")) - before
    return made.read_text()


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def attach(lab: Lab, folder: Path) -> None:
    hub = hub_context(lab.server)
    hub.config = dataclasses.replace(hub.config, council_dir=folder)


async def test_a_pasted_councillor_signature_is_stored_and_counted_like_the_clis(
    tmp_path: Path,
) -> None:
    alliance, pid, _ = council_with_two_proposals(tmp_path / "c")
    pasted = signed_elsewhere(alliance, pid, "bob")
    async with lab_alliance(tmp_path) as lab, lab.browser_client() as client:
        attach(lab, alliance.folder)
        anonymous = (await client.get("/ui/council")).text
        assert 'action="/ui/council/sign"' not in anonymous and "shieldwall ui login" in anonymous
        csrf = await operator_session(lab, client)
        council = (await client.get("/ui/council")).text
        assert f'id="sign-{pid}"' in council and "shieldwall council publish" in council
        done = await client.post("/ui/council/sign",
                                 data={"csrf": csrf, "proposal": pid, "signature": pasted})
        assert done.status_code == 303, done.text
        shown = (await client.get(done.headers["location"])).text
    assert "stored bob&#39;s signature" in shown and "v1 council 2 of 2" in shown
    assert "v1 council 2/2: alice, bob" in shown  # the table, read back from the folder
    bob = msgspec.json.decode(pasted, type=Signature)
    assert (alliance.folder / "proposals" / pid / f"{bob.key_id}.0.sig").exists()
    _, state = store.load_state(alliance.folder)
    status = proposal_status(state, store.load_proposal(alliance.folder, pid), 0)
    assert status.counts[0].signers == ("alice", "bob")
    cli_status = alliance.run("status", str(alliance.folder), pid).output
    assert "2 of 2 (alice, bob)" in cli_status and "ready to publish" in cli_status


async def test_a_signature_that_would_not_count_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    alliance, pid, other = council_with_two_proposals(tmp_path / "c")
    genuine = msgspec.json.decode(signed_elsewhere(alliance, pid, "bob"), type=Signature)
    for_other = signed_elsewhere(alliance, other, "carol")
    act = store.load_proposal(alliance.folder, pid).act
    stranger = sign_digest(new_seed(), signed_digest(act))
    flipped = genuine.sig[:-1] + ("0" if genuine.sig[-1] != "0" else "1")
    hostile = {
        "malformed JSON": (pid, '{"key_id": "' + genuine.key_id, "not a signature file"),
        "unknown field": (pid, msgspec.json.encode(genuine).decode()[:-1] + ', "by": "bob"}',
                          "unknown field"),
        "not hex": (pid, '{"key_id": "zz", "sig": "00"}', "not a signature file"),
        "not a councillor": (pid, msgspec.json.encode(stranger).decode(), "holds no seat"),
        "another proposal's": (pid, for_other, "made for another proposal"),
        "forged": (pid, msgspec.json.encode(Signature(genuine.key_id, flipped)).decode(),
                   "forged"),
        "unknown proposal": ("0" * 16, msgspec.json.encode(genuine).decode(), "no open proposal"),
        "prefix only": (pid[:8], msgspec.json.encode(genuine).decode(), "not a proposal id"),
        "path-like": ("../x", msgspec.json.encode(genuine).decode(), "not a proposal id"),
        "path-like, long": (f"../../{pid}", msgspec.json.encode(genuine).decode(),
                            "not a proposal id"),
    }
    before = files_of(alliance.folder)
    async with lab_alliance(tmp_path) as lab, lab.browser_client() as client:
        attach(lab, alliance.folder)
        form = {"proposal": pid, "signature": msgspec.json.encode(genuine).decode()}
        anonymous = await client.post("/ui/council/sign", data=form)
        assert anonymous.status_code == 403 and "no operator session" in anonymous.text
        csrf = await operator_session(lab, client)
        bad_token = await client.post("/ui/council/sign", data={**form, "csrf": "x" * 32})
        assert bad_token.status_code == 403 and "CSRF" in bad_token.text
        cross = await client.post("/ui/council/sign", data={**form, "csrf": csrf},
                                  headers={"origin": "https://evil.example"})
        assert cross.status_code == 403 and "cross-origin" in cross.text
        for case, (proposal, pasted, why) in hostile.items():
            refused = await client.post(
                "/ui/council/sign", data={"csrf": csrf, "proposal": proposal, "signature": pasted})
            assert refused.status_code == 400, case
            assert "signature not stored" in refused.text and why in refused.text, (case, refused.text)
    assert files_of(alliance.folder) == before
    cli_status = alliance.run("status", str(alliance.folder), pid).output
    assert "1 of 2 (alice)" in cli_status


async def test_without_a_council_folder_the_route_says_so(tmp_path: Path) -> None:
    async with lab_alliance(tmp_path) as lab, lab.browser_client() as client:
        csrf = await operator_session(lab, client)
        refused = await client.post("/ui/council/sign",
                                    data={"csrf": csrf, "proposal": "0" * 16, "signature": "{}"})
    assert refused.status_code == 400 and "no council folder" in refused.text


