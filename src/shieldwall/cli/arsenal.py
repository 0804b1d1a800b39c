"""``shieldwall arsenal``: the alliance's rules as signed TUF targets, measured and promoted.

Hub side (``--hub-dir``): ``init``, ``propose``, ``promote``, ``list``, ``show``,
``report``. Councillors sign with ``--key`` (their council key files, one option
each); a change is published only with the council's threshold of signatures.
Member side: ``join`` pins the arsenal root on this member's agent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
import msgspec

from shieldwall import durations
from shieldwall.arsenal import changes
from shieldwall.arsenal.figures import Figures, encode_figures
from shieldwall.arsenal.ledger_copy import pull, push
from shieldwall.arsenal.measure import measure, protected_of, rules_sighted
from shieldwall.arsenal.regression import regression
from shieldwall.arsenal.repository import Repository, custom_of, sha256_hex, signer_of
from shieldwall.arsenal.rule import parse_rule
from shieldwall.errors import ArsenalError, ConfigError
from shieldwall.governance.state import CouncilState
from shieldwall.governance.store import load_key
from shieldwall.hub.backend import ledger_for
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.signals.keys import public_key_of

HUB_DIR = click.option("--hub-dir", "hub_dir", required=True,
                       type=click.Path(file_okay=False, path_type=Path),
                       help="The hub's data folder (from `hub init`).")
KEYS = click.option("--key", "keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                    help="A councillor's key file; give one per signing councillor.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
WINDOW = click.option("--window", default="30d", show_default=True, help="How far back the figures look.")
#: The act kind a rule's promotion is under the charter (ordinary unless the charter lists it grave).
PROMOTE_RULE = "promote-rule"
DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
T = TypeVar("T")


async def _on_ledger(config: HubConfig, work: Callable[[Ledger], Awaitable[T]]) -> T:
    ledger = ledger_for(config)
    await ledger.open()
    try:
        return await work(ledger)
    finally:
        await ledger.close()


def _pull(config: HubConfig) -> None:
    """Bring this hub's copy of the arsenal up to date from the ledger (another replica may
    have published since)."""
    asyncio.run(_on_ledger(config, lambda ledger: pull(ledger, config.data_dir / "arsenal")))


def _push(config: HubConfig, repo: Repository) -> None:
    """Copy what ``repo`` wrote into the ledger: every replica serves it from there."""
    asyncio.run(_on_ledger(config, lambda ledger: push(ledger, repo, time.time())))


def _repo(config: HubConfig) -> Repository:
    _pull(config)
    repo = Repository(config.data_dir / "arsenal")
    if not (repo.metadata / "1.root.json").exists():
        raise ConfigError(f"{config.data_dir} has no arsenal yet; run `shieldwall arsenal init` first")
    return repo


def _seeds(keys: tuple[Path, ...]) -> list[bytes]:
    return [load_key(k) for k in keys]


def _hub_seed(config: HubConfig) -> bytes:
    return (config.data_dir / IDENTITY_FILE).read_bytes()


def _sign_publish(repo: Repository, config: HubConfig, draft: object, keys: tuple[Path, ...]) -> int:
    from tuf.api.metadata import Metadata

    assert isinstance(draft, Metadata)
    for seed in _seeds(keys):
        draft.sign(signer_of(seed), append=True)
    version = repo.publish(draft, _hub_seed(config), time.time())
    _push(config, repo)
    return version


async def _figures(config: HubConfig, rule: str, window: str) -> Figures:
    ledger = ledger_for(config)
    await ledger.open()
    try:
        end = time.time()
        protected = await protected_of(ledger, config.protections())
        return await measure(ledger, rule, start=end - durations.duration_seconds(window), end=end,
                             protected=protected)
    finally:
        await ledger.close()


@click.group()
def arsenal() -> None:
    """The alliance's detection rules: signed, measured on real traffic, promoted by the council.

    \b
    Example:
      shieldwall arsenal report --hub-dir /var/lib/shieldwall/hub
    """


@arsenal.command()
@HUB_DIR
@KEYS
@click.option("--council", "council_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The council's folder (`council init`): its councillors and its threshold for "
                   "a 'promote-rule' act sign the arsenal.")
@click.option("--councillor", "councillors", multiple=True,
              help="Without --council: a councillor's public key (hex); default: the keys given.")
@click.option("--threshold", type=int, default=None, help="Without --council: signatures a change needs (2).")
def init(hub_dir: Path, keys: tuple[Path, ...], council_dir: Path | None, councillors: tuple[str, ...],
         threshold: int | None) -> None:
    """Found the hub's rule repository (root signed by the councillors present).

    \b
    Example:
      shieldwall arsenal init --hub-dir hub/ --council ./council --key alice.key --key bob.key
    """
    config = load_hub_config(hub_dir)
    seeds = _seeds(keys)
    if council_dir is not None:
        if councillors or threshold is not None:
            raise ConfigError("--council names the councillors and the threshold; "
                              "drop --councillor/--threshold")
        council, threshold = council_of(council_dir)
    else:
        council = [bytes.fromhex(c) for c in councillors] or [public_key_of(s) for s in seeds]
        threshold = 2 if threshold is None else threshold
    _pull(config)
    repo = Repository.create(config.data_dir / "arsenal", council, threshold, seeds, _hub_seed(config),
                             time.time())
    _push(config, repo)
    digest = hashlib.sha256(repo.root_bytes(1)).hexdigest()
    click.echo(f"arsenal founded: {len(council)} councillors, {threshold} signatures per change")
    click.echo(f"members pin it with: shieldwall arsenal join --root-sha256 {digest}")


def council_of(folder: Path) -> tuple[list[bytes], int]:
    """The councillors' keys and the threshold of a rule promotion under the charter in force."""
    from shieldwall.governance.charter import threshold_for
    from shieldwall.governance.store import load_state

    _records, state = load_state(folder)
    if state.trusted is None:
        raise ConfigError(f"{folder}: the council has not been founded yet (`council publish`)")
    charter = state.trusted.charter
    return [bytes.fromhex(c.public_key) for c in charter.council], threshold_for(charter, PROMOTE_RULE)


@arsenal.command()
@click.argument("rule_file", type=click.Path(dir_okay=False, path_type=Path))
@HUB_DIR
@KEYS
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=DATA,
              show_default=True, help="The labelled fixtures (crowdsec-hub-tests, fail2ban-test-logs).")
def propose(rule_file: Path, hub_dir: Path, keys: tuple[Path, ...], data_dir: Path) -> None:
    """Run the rule's regression suite, then publish it as experimental (shadow everywhere).

    \b
    Example:
      shieldwall arsenal propose my-rule.toml --hub-dir /var/lib/shieldwall/hub --key alice.key --key bob.key
    """
    config = load_hub_config(hub_dir)
    repo = _repo(config)
    try:
        rule = parse_rule(rule_file.read_bytes(), str(rule_file))
    except OSError as exc:
        raise ConfigError(f"cannot read {rule_file}: {exc.strerror}") from None
    outcomes = regression(rule, data_dir)
    for outcome in outcomes:
        click.echo(outcome.explain())
    if len(keys) == 1 and repo.root().roles["targets"].threshold > 1:
        # One key, short of the council's threshold: a chair-alone trial, if the charter delegates it.
        draft = changes.propose_trial(repo, rule, outcomes, time.time())
        draft.sign(signer_of(load_key(keys[0])))
        chair = repo.publish_trial(draft, hub_council(config), _hub_seed(config), time.time())
        _push(config, repo)
        click.echo(f"{rule.id} published as experimental by the chair ({chair}) alone, as the charter"
                   " delegates trials: it runs in shadow on every member; promotion needs the council")
        return
    draft = changes.propose(repo, rule, outcomes, time.time())
    version = _sign_publish(repo, config, draft, keys)
    click.echo(f"{rule.id} published as experimental (targets v{version}): it runs in shadow on every member")


def hub_council(config: HubConfig) -> CouncilState | None:
    """The council the hub runs under, verified from its pinned charter (``None``: none)."""
    from shieldwall.governance.store import load_state

    if config.council_dir is None or not config.charter:
        return None
    _records, state = load_state(config.council_dir, bytes.fromhex(config.charter))
    return state


@arsenal.command()
@click.argument("rule")
@click.option("--to", "status", required=True,
              type=click.Choice(["experimental", "test", "stable", "deprecated"]))
@HUB_DIR
@KEYS
@WINDOW
def promote(rule: str, status: str, hub_dir: Path, keys: tuple[Path, ...], window: str) -> None:
    """Change a rule's status; an enforcing one carries its measured report (checked on the gates).

    \b
    Example:
      shieldwall arsenal promote ssh-quick-guess@1 --to test --hub-dir hub/ --key a.key --key b.key
    """
    config = load_hub_config(hub_dir)
    repo = _repo(config)
    report = asyncio.run(_figures(config, rule, window))
    draft = changes.change_status(repo, rule, status, report, time.time())
    version = _sign_publish(repo, config, draft, keys)
    click.echo(f"{rule} is {status} (targets v{version}); report sha256 {sha256_hex(encode_figures(report))}")


def _listing(repo: Repository) -> list[dict[str, object]]:
    targets = repo.targets().signed.targets
    rows: list[dict[str, object]] = [{"rule": p.removeprefix("rules/").removesuffix(".toml"),
                                      **custom_of(targets[p])} for p in repo.index()]
    trials = repo.trials()
    listed = {row["rule"] for row in rows}
    for path, info in sorted(({} if trials is None else trials.signed.targets).items()):
        rule = path.removeprefix("trials/").removesuffix(".toml")
        if path.endswith(".toml") and rule not in listed:  # the council's entry, once it has one, decides
            rows.append({"rule": rule, **custom_of(info), "trial": True})
    return rows


@arsenal.command("list")
@HUB_DIR
@JSON
def list_(hub_dir: Path, as_json: bool) -> None:
    """The published rules and their statuses.

    \b
    Example:
      shieldwall arsenal list --hub-dir /var/lib/shieldwall/hub --json
    """
    config = load_hub_config(hub_dir)
    rows = _listing(_repo(config))
    if as_json:
        click.echo(msgspec.json.encode(rows).decode())
        return
    for row in rows or [{"rule": "(no rules yet)", "status": ""}]:
        trial = "  (chair-alone trial)" if row.get("trial") else ""
        click.echo(f"{row['rule']:<32} {row.get('status', '')}{trial}")


def _print_figures(f: Figures) -> None:
    when = dt.datetime.fromtimestamp(f.start, dt.UTC).strftime("%Y-%m-%d %H:%M")
    click.echo(f"{f.rule}  since {when} UTC")
    click.echo(f"  detections        {f.detections} (live {f.detections_live}, shadow {f.detections_shadow})")
    click.echo(f"  targets / members {f.targets} / {f.members}")
    click.echo(f"  corroboration     {f.corroboration:.0%} ({f.corroborated} of {f.targets} within 1h)")
    earliness = "-" if f.earliness is None else f"{f.earliness:+.0f} s"
    click.echo(f"  earliness         {earliness} (positive: sooner than other rules)")
    click.echo(f"  harm              protected hits {f.protected_hits}, lifted {f.lifted},"
               f" disputes {f.disputes}")
    cost = "-" if f.cpu_per_million is None else f"{f.cpu_per_million:.2f} CPU s per million lines"
    click.echo(f"  cost              {cost} ({f.lines} lines)")


@arsenal.command()
@click.argument("rule")
@HUB_DIR
@JSON
@WINDOW
def show(rule: str, hub_dir: Path, as_json: bool, window: str) -> None:
    """One rule: its status, its file and its figures.

    \b
    Example:
      shieldwall arsenal show ssh-quick-guess@1 --hub-dir /var/lib/shieldwall/hub
    """
    config = load_hub_config(hub_dir)
    repo = _repo(config)
    row = next((r for r in _listing(repo) if r["rule"] == rule), None)
    if row is None:
        raise ArsenalError("unknown", f"{rule} is not published; see `shieldwall arsenal list`")
    figures = asyncio.run(_figures(config, rule, window))
    if as_json:
        click.echo(msgspec.json.encode({**row, "figures": figures}).decode())
        return
    click.echo(f"status: {row.get('status')}")
    raw = (repo.trial_bytes(f"trials/{rule}.toml") if row.get("trial")
           else repo.target_bytes(f"rules/{rule}.toml"))
    click.echo(raw.decode("utf-8").strip())
    _print_figures(figures)


@arsenal.command()
@click.argument("rules", nargs=-1)
@HUB_DIR
@JSON
@WINDOW
def report(rules: tuple[str, ...], hub_dir: Path, as_json: bool, window: str) -> None:
    """Measured effectiveness per rule version (default: every rule members sighted).

    \b
    Example:
      shieldwall arsenal report ssh-quick-guess@1 --hub-dir /var/lib/shieldwall/hub --json
    """
    config = load_hub_config(hub_dir)

    async def all_figures() -> list[Figures]:
        names = list(rules)
        if not names:
            ledger = ledger_for(config)
            await ledger.open()
            try:
                names = await rules_sighted(ledger)
            finally:
                await ledger.close()
        return [await _figures(config, name, window) for name in names]

    out = asyncio.run(all_figures())
    if as_json:
        click.echo(msgspec.json.encode([{"figures": f, "sha256": sha256_hex(encode_figures(f))}
                                        for f in out]).decode())
        return
    for f in out:
        _print_figures(f)


@arsenal.command()
@click.option("--data-dir", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/var/lib/shieldwall/member"), show_default=True, help="The member's data folder.")
@click.option("--root-sha256", "root_sha256", required=True, help="The pin `arsenal init` printed.")
@click.option("--refresh", default="5m", show_default=True, help="How often the agent looks for a new set.")
def join(data_dir: Path, root_sha256: str, refresh: str) -> None:
    """Pin the alliance's arsenal on this member; the agent then hot-loads its rules.

    (A join token from a hub with an arsenal pins it at `shieldwall join` already.)

    \b
    Example:
      shieldwall arsenal join --root-sha256 8633fab0...1662 --refresh 5m
    """
    from shieldwall.arsenal.member import pin_arsenal
    from shieldwall.signals.member_state import load_member_state

    member = load_member_state(data_dir)
    asyncio.run(pin_arsenal(member, root_sha256, durations.duration_seconds(refresh)))
    click.echo(f"arsenal pinned; the agent loads the alliance's rules within {refresh}")
