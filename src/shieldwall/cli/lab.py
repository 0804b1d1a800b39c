"""``shieldwall lab``: simulations that measure the alliance's rules on this machine."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("lab")
def lab() -> None:
    """Simulations of an alliance, run through the hub's real policy code.

    \b
    Example:
      shieldwall lab trust --sizes 20 --seeds 2 --no-curves
    """


@lab.command("trust")
@click.option("--sizes", default="20,50,200", show_default=True,
              help="Alliance sizes (members), comma-separated.")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes to run the seeds in.")
@click.option("--ipsum", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IPsum feed (ipsum.txt) to draw attackers from [default: its count histogram].")
@click.option("--curves/--no-curves", default=True, show_default=True,
              help="Also run the trade-off curves (probation length, canaries).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the curves into this PNG (needs `pip install shieldwall[lab]`).")
def trust(sizes: str, seeds: int, workers: int, ipsum: Path | None, curves: bool,
          plot: Path | None) -> None:
    """Can a lying member get innocents blocked? Simulate it and print the table.

    Alliances of each size, with 0 to 50 % colluders who report benign,
    protected and canary addresses and echo each other, honest members who see
    attackers drawn from IPsum, and a newcomer that bursts 10,000 addresses:
    P1 protected bans, P2 benign bans, P4 attackers banned and how fast, P5 the
    delay trust costs over today's one-word rule, P8 the burst's bans.

    \b
    Example:
      shieldwall lab trust --sizes 20 --seeds 2 --no-curves
    """
    from shieldwall.lab.trust_report import report

    try:
        numbers = [int(n) for n in sizes.split(",")]
    except ValueError:
        raise click.BadParameter(f"not a list of numbers: {sizes!r}", param_hint="--sizes") from None
    if any(n < 5 for n in numbers):
        raise click.BadParameter("an alliance needs at least 5 members", param_hint="--sizes")
    report(click.echo, sizes=numbers, seeds=seeds, ipsum=str(ipsum or ""), workers=workers,
           curves=curves, plot=plot)
