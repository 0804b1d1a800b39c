"""``shieldwall council``: found a council, propose, sign, publish and read its history, offline.

Everything works on a council folder (see :mod:`shieldwall.governance.store`) and a
councillor's key file; councillors pass the folder between machines (a shared drive,
git, a USB stick). Signatures are one file each, so two copies merge by copying.
Every check is the pure core's (:mod:`shieldwall.governance`); this module reads
options and files, calls it, and prints.
"""

from __future__ import annotations

from pathlib import Path

import click

from shieldwall.cli.council_options import (
    FOLDER,
    KEY,
    KIND,
    lifetime_of,
    now_of,
    open_with,
    parse_date,
    sha256_of,
    when,
)
from shieldwall.cli.council_propose import propose
from shieldwall.errors import GovernanceError
from shieldwall.governance import store
from shieldwall.governance.acts import CharterChange
from shieldwall.governance.amend import councillor_card, found, parse_card, parse_hub_key
from shieldwall.governance.chair import chair_at, term_end, term_index
from shieldwall.governance.charter import HubKey, Rotation, Thresholds
from shieldwall.governance.history import history as council_history
from shieldwall.governance.proposals import Proposal
from shieldwall.governance.proposals import publish as publish_proposal
from shieldwall.governance.proposals import sign as sign_proposal
from shieldwall.governance.state import CouncilState
from shieldwall.governance.status import proposal_status
from shieldwall.signals.keys import new_seed, public_key_of


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--now", hidden=True, default=None, help="Unix seconds to use as the time (tests).")
@click.pass_context
def council(ctx: click.Context, now: str | None) -> None:
    """The council: k-of-n governance of the alliance, with a rotating chair.

    A charter (signed, versioned) names the councillors, the thresholds for ordinary
    and grave acts, the chair's rotation and the hub keys. Acts take effect only with
    the threshold: the chair opens a proposal, councillors sign offline, anyone
    publishes once enough have signed. All of it lives in a council folder.

    \b
    Example:
      shieldwall council keygen alice.key --name alice --alliance north-sea
      shieldwall council status ./council
    """
    ctx.obj = {"now": now}


@council.command()
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Your councillor name.")
@click.option("--alliance", required=True, help="The alliance's name (the card is bound to it).")
def keygen(key_file: Path, name: str, alliance: str) -> None:
    """Create a councillor key and print its card (name:key:proof) for the council.

    The proof is the key's signature of its admission challenge: a card whose key
    cannot sign is refused.

    \b
    Example:
      shieldwall council keygen alice.key --name alice --alliance north-sea
    """
    seed = new_seed()
    card = councillor_card(seed, alliance, name)
    parse_card(card, alliance)
    store.save_key(key_file, seed)
    click.echo(card)


@council.command()
@FOLDER
@KEY
@click.option("--alliance", required=True)
@click.option("--councillor", "cards", multiple=True, required=True, help="A card from `keygen` (repeat).")
@click.option("--ordinary", type=int, required=True, help="Signatures for ordinary acts (a majority).")
@click.option("--grave", type=int, required=True, help="Signatures for grave acts and charter changes.")
@click.option("--grave-act", "grave_acts", multiple=True, type=KIND, help="Grave kinds [charter, expel].")
@click.option("--delegate", multiple=True, type=KIND, help="Kinds the chair may sign alone.")
@click.option("--term-days", type=int, default=0, help="Chair term in days (0: calendar year).")
@click.option("--start", default=None, help="When the first chair starts (date or Unix seconds; now).")
@click.option("--hub-key", "hub_keys", multiple=True, help="name:public key hex of a hub key (repeat).")
@click.option("--hub-identity", type=click.Path(dir_okay=False, path_type=Path),
              help="The hub's identity.key: its public key is used (as hub key `hub`).")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--never-block", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--lifetime", default="365d", help="How long the charter is valid.")
@click.pass_context
def init(ctx: click.Context, folder: Path, key_file: Path, alliance: str, cards: tuple[str, ...],
         ordinary: int, grave: int, grave_acts: tuple[str, ...], delegate: tuple[str, ...], term_days: int,
         start: str | None, hub_keys: tuple[str, ...], hub_identity: Path | None, policy: Path,
         never_block: Path, lifetime: str) -> None:
    """Found the council: propose charter v1; the founders sign it, then publish.

    \b
    Example:
      shieldwall council init ./council --key alice.key --alliance north-sea \\
        --councillor "$(cat alice.card)" --councillor "$(cat bob.card)" \\
        --councillor "$(cat carol.card)" --ordinary 2 --grave 2 --term-days 90 \\
        --hub-identity /var/lib/shieldwall/hub/identity.key \\
        --policy policy.toml --never-block never-block.txt
    """
    if (folder / store.LOG).exists():
        raise GovernanceError("exists", f"{folder} already holds a council")
    now = now_of(ctx)
    keys = [parse_hub_key(k) for k in hub_keys]
    if hub_identity is not None:
        keys.append(HubKey(name="hub", public_key=public_key_of(store.load_key(hub_identity)).hex()))
    council_seats = [parse_card(card, alliance) for card in cards]
    begins = now if start is None else parse_date(start, "--start")
    rotation = Rotation(order=tuple(c.name for c in council_seats), start=begins,
                        term="days" if term_days else "calendar-year", days=term_days)
    charter = found(alliance, council_seats, Thresholds(ordinary, grave), rotation, keys, sha256_of(policy),
                    sha256_of(never_block), now, lifetime_of(lifetime),
                    grave=grave_acts or ("charter", "expel"), delegated=delegate)  # type: ignore[arg-type]
    open_with(ctx, folder, key_file, CharterChange(charter), "founding")



council.add_command(propose)


@council.command("sign")
@FOLDER
@click.argument("proposal_id")
@KEY
@click.pass_context
def sign(ctx: click.Context, folder: Path, proposal_id: str, key_file: Path) -> None:
    """Sign an open proposal with this councillor's key (offline; one file per signature).

    \b
    Example:
      shieldwall council sign ./council 3f2a9c1e0b7d4e55 --key bob.key
    """
    _, state = store.load_state(folder)
    proposal = store.load_proposal(folder, proposal_id)
    signature = sign_proposal(state, proposal, store.load_key(key_file))
    store.add_signature(folder / "proposals" / proposal.id, signature)
    _print_status(state, store.load_proposal(folder, proposal.id), now_of(ctx))


@council.command()
@FOLDER
@click.argument("proposal_id", required=False)
@click.pass_context
def status(ctx: click.Context, folder: Path, proposal_id: str | None) -> None:
    """The charter in force, the chair, and where each open proposal stands.

    \b
    Example:
      shieldwall council status ./council
    """
    now = now_of(ctx)
    _, state = store.load_state(folder)
    if state.trusted is not None:
        charter = state.trusted.charter
        chair = chair_at(charter.rotation, now, state.appointments)
        index = term_index(charter.rotation, now)
        until = term_end(charter.rotation, index) if index is not None else charter.rotation.start
        click.echo(f"charter v{charter.version} of {charter.alliance}, expires {when(charter.expires)}"
                   f" (thresholds: ordinary {charter.thresholds.ordinary}, grave {charter.thresholds.grave}"
                   f" of {len(charter.council)})")
        click.echo(f"chair: {chair or 'none yet'} until {when(until)}; members: {len(state.members)},"
                   f" expelled: {len(state.expelled)}; policy {state.policy_sha256[:16]}")
        if now >= charter.expires:
            click.echo("EXPIRED: members refuse a frozen charter; propose the next version"
                       " (`shieldwall council propose charter`)")
    else:
        click.echo(f"{folder}: no council founded yet")
    proposals = [store.load_proposal(folder, proposal_id)] if proposal_id else store.open_proposals(folder)
    for proposal in proposals:
        _print_status(state, proposal, now)


def _print_status(state: CouncilState, proposal: Proposal, now: int) -> None:
    report = proposal_status(state, proposal, now)
    click.echo(f"proposal {report.id} {report.kind}, opened by {report.opened_by} {when(report.opened_at)}")
    for count in report.counts:
        line = f"  {count.council}: {len(count.signers)} of {count.needed}"
        line += f" ({', '.join(count.signers)})" if count.signers else ""
        line += f"; not yet: {', '.join(count.missing)}" if count.missing else ""
        click.echo(line + (f"; FORGED: {', '.join(count.forged)}" if count.forged else ""))
    if report.chair_may_publish:
        click.echo(f"  the chair ({report.chair}) may sign this alone")
    click.echo("  ready to publish" if report.publishable else f"  not publishable: {report.problem}")


@council.command("publish")
@FOLDER
@click.argument("proposal_id")
@click.pass_context
def publish(ctx: click.Context, folder: Path, proposal_id: str) -> None:
    """Publish a proposal whose threshold is met: it joins the act log and takes effect.

    \b
    Example:
      shieldwall council publish ./council 3f2a9c1e0b7d4e55
    """
    _, state = store.load_state(folder)
    proposal = store.load_proposal(folder, proposal_id)
    record, _ = publish_proposal(state, proposal, now_of(ctx))
    store.append_record(folder, record)
    store.remove_proposal(folder, proposal.id)
    click.echo(f"published {proposal.id} as act {record.seq}")
    effect = record.act.effect
    if isinstance(effect, CharterChange):
        version = effect.charter.version
        click.echo(f"charter v{version} is in force: {store.charter_path(folder, version)}")


@council.command("attach")
@FOLDER
@click.option("--hub", "hub_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The hub's data folder (its hub.toml gets the council and charter keys).")
def attach(folder: Path, hub_dir: Path) -> None:
    """Put a hub under this council: it decides only under the charter's policy from then on.

    Pins the founding charter's digest in the hub's hub.toml; join tokens the hub makes
    afterwards carry it, so members verify the hub from it. Restart `hub serve`.

    \b
    Example:
      shieldwall council attach ./council --hub /var/lib/shieldwall/hub
    """
    from shieldwall.hub.governance_council import attach_council

    pinned = attach_council(hub_dir, folder)
    click.echo(f"{hub_dir} runs under the council in {folder} (founding charter {pinned[:16]}...);"
               " restart `shieldwall hub serve`")


@council.command()
@FOLDER
@click.pass_context
def history(ctx: click.Context, folder: Path) -> None:
    """Every act with its signers and effect, and every chair handover, oldest first.

    \b
    Example:
      shieldwall council history ./council
    """
    records = store.read_records(folder)
    for entry in council_history(records, now_of(ctx), store.open_proposals(folder)):
        signed = f"  [signed: {', '.join(entry.signers)}]" if entry.signers else ""
        label = f"act {entry.seq}" if entry.event == "act" else "handover"
        click.echo(f"{when(entry.at)}  {label:<8} {entry.summary}{signed}")
