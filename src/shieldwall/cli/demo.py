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
@click.option("--drill", is_flag=True,
              help="Then run a drill across the lab and show its report (root; netns lab).")
def demo(simulate: bool, attempts: int, drill: bool) -> None:
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

    With --drill, the demo then runs `shieldwall drill run` across the lab: every
    member proves detect -> signal -> decide -> push -> enforce on a documentation
    address, and the drill report (per member and stage) is shown.

    \b
    Example:
      sudo shieldwall demo
      sudo shieldwall demo --drill
      shieldwall demo --simulate
    """
    from shieldwall.cli.main import fail
    from shieldwall.errors import HostError
    from shieldwall.lab.runner import check_can_build, exit_on_signals

    if simulate and drill:
        fail("demo", HostError("--drill runs in the netns lab (real nftables per member):"
                               " drop --simulate and run it as root"))
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

            result = run_lab_demo(click.echo, attempts, drill=drill)
    click.echo("")
    others = {m: ms for m, ms in result.delays_ms.items() if m != "a"}
    if result.proven and others:
        slowest = max(others.values())
        click.echo(f"an attack on a was answered by all: b and c blocked {result.attacker} "
                   f"{slowest:.0f} ms after a's detection.")
    else:
        click.echo("the demo could not prove the block on every member; see the output above.")
        sys.exit(EXIT_CHECK_FAILED)
    if result.drill is not None:
        if not result.drill.passed:
            click.echo(f"the drill {result.drill.id} failed; see its report above.")
            sys.exit(EXIT_CHECK_FAILED)
        click.echo(f"the drill {result.drill.id} passed on every member: detection -> block on"
                   f" all in {(result.drill.on_all or 0) * 1000:.0f} ms, then lifted.")
