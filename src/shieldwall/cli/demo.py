"""``shieldwall demo``: see an attack on one member answered by all, in a minute."""

from __future__ import annotations

import sys

import click

from shieldwall.errors import EXIT_CHECK_FAILED


@click.command("demo")
@click.option("--simulate", is_flag=True,
              help="Run the same flow in one process with in-memory enforcers (no root).")
@click.option("--attempts", default=10, show_default=True, type=click.IntRange(5, 50),
              help="Most wrong passwords the attacker tries.")
def demo(simulate: bool, attempts: int) -> None:
    """Build a small alliance on this machine and watch it answer an attack.

    As root: network namespaces hold a hub, three members (each a real OpenSSH
    server and a Shieldwall agent enforcing with nftables; one also runs nginx)
    and an attacker. The attacker brute-forces member a's sshd; you see a's
    detection, the hub's decision and b and c blocking; then the demo proves
    the attacker can no longer open a TCP connection to b or c (it could
    before), prints the timeline in milliseconds and removes everything it
    created. Only addresses inside its own namespaces are used.

    Without root, --simulate runs the same flow in one process: the real hub
    on loopback and three real agent runtimes with in-memory enforcers.

    \b
    Example:
      sudo shieldwall demo
      shieldwall demo --simulate
    """
    from shieldwall.cli.main import fail
    from shieldwall.errors import HostError
    from shieldwall.lab.runner import check_can_build, exit_on_signals

    if not simulate:
        problem = check_can_build(("ip", "nft", "/usr/sbin/sshd", "ssh", "sshpass", "nginx"))
        if problem:
            fail("demo", HostError(
                f"{problem}. The demo builds network namespaces, runs real sshd and nginx "
                "servers and loads nftables rules; all of that needs root.\n"
                "Try `shieldwall demo --simulate`: the same flow in one process with "
                "in-memory enforcers."))
    with exit_on_signals():
        if simulate:
            from shieldwall.lab.simulation import run_simulation

            click.echo("simulated alliance (one process, in-memory enforcers):")
            result = run_simulation(click.echo, attempts)
        else:
            from shieldwall.lab.show import run_lab_demo

            result = run_lab_demo(click.echo, attempts)
    click.echo("")
    others = {m: ms for m, ms in result.delays_ms.items() if m != "a"}
    if result.proven and others:
        slowest = max(others.values())
        click.echo(f"an attack on a was answered by all: b and c blocked {result.attacker} "
                   f"{slowest:.0f} ms after a's detection.")
    else:
        click.echo("the demo could not prove the block on every member; see the output above.")
        sys.exit(EXIT_CHECK_FAILED)
