"""The trust simulation's full report: the table, the limits, the trade-off curves.

``shieldwall lab trust`` and ``bench/trust_sim.py`` print it; ``--plot`` also
draws the curves with matplotlib (the ``lab`` extra), which nothing else needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shieldwall.hub.policy_config import load_policy
from shieldwall.lab.trust_table import HEADER, Job, Row, measure, render, table_jobs

Say = Callable[[str], None]
SIZES = (20, 50, 200)
SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
PROBATIONS = (0.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 24 * 3600.0)
CANARIES = (0, 400, 2000, 6000)
CURVE_N = 50
#: The [trust] settings swept against each other (issue 16): each at N = 20 and CURVE_N,
#: against newcomer colluders and against turncoats; the shipped value is marked.
SWEEPS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("solo_duration", (0.0, 300.0, 900.0, 3600.0)),
    ("solo_penalty", (0.0, 0.1, 0.2, 0.5)),
    ("solo_open", (2.0, 4.0, 10.0)),
    ("vet_precision", (0.15, 0.25, 0.35, 1.0)),
    ("vet_open", (0.0, 4.0, 8.0)),
    ("dispute_penalty", (3.0, 10.0)),
)
SWEEP_SIZES = (20, CURVE_N)


def report(
    say: Say, sizes: Sequence[int] = SIZES, shares: Sequence[float] = SHARES, seeds: int = 10,
    ipsum: str = "", workers: int = 2, curves: bool = True, plot: Path | None = None,
    curve_seeds: int = 5,
) -> list[Row]:
    """Run the table (and curves, over ``curve_seeds``), print them; returns the table's rows."""
    say(f"trust simulation: N = {', '.join(map(str, sizes))}; colluders"
        f" {', '.join(f'{s:.0%}' for s in shares)}; {seeds} seeds; real Policy code")
    say("")
    rows = measure(table_jobs(sizes, shares, seeds, ipsum), workers)
    for line in render(rows):
        say(line)
    say("")
    say("limits: the same runs with trust off (today), and with turncoat colluders"
        " (founders from the start, truthful during the warm-up, then lying)")
    turncoat_shares = [s for s in (0.1, 0.3, 0.5) if s in shares] or [0.3]
    limits = measure(
        table_jobs(sizes, (0.3,), seeds, ipsum, trusted=False)
        + table_jobs(sizes, turncoat_shares, seeds, ipsum, turncoats=True), workers)
    say(HEADER.replace("| N |", "| limit | N |"))
    say("|" + "---|" * 11)
    kinds = ["trust off"] * len(sizes) + ["turncoats"] * (len(sizes) * len(turncoat_shares))
    for kind, row in zip(kinds, limits, strict=True):
        say(f"| {kind} " + render([row])[2])
    if curves:
        trade_offs(say, curve_seeds, ipsum, workers, plot)
    return rows


def trade_offs(
    say: Say, curve_seeds: int = 5, ipsum: str = "", workers: int = 2, plot: Path | None = None,
) -> None:
    """The trade-off curves: probation length, canaries, one word or two (N = CURVE_N)."""
    say("")
    say(f"trade-off 1: probation length (N = {CURVE_N}, 30 % newcomer colluders,"
        f" {curve_seeds} seeds)")
    probation = measure([
        Job(CURVE_N, 0.3, seed, trust=(("probation", p),), ipsum=ipsum)
        for p in PROBATIONS for seed in range(curve_seeds)], workers)
    say("| probation | P2 clean seeds (mean benign bans) | P5 cost p50/p95 s | P4 banned |")
    say("|---|---|---|---|")
    for row in probation:
        p = dict(row.job.trust)["probation"]
        say(f"| {p / 3600:g} h | {row.clean_seeds}/{len(row.runs)} ({row.benign:.1f}) |"
            f" {row.cost(0.5):.0f}/{row.cost(0.95):.0f} | {row.banned_share:.1%} |")
    say("")
    say(f"trade-off 2: canaries held by the hub against turncoats (N = {CURVE_N}, 30 %,"
        f" {curve_seeds} seeds)")
    canaries = measure([
        Job(CURVE_N, 0.3, seed, turncoats=True, canaries=c, ipsum=ipsum)
        for c in CANARIES for seed in range(curve_seeds)], workers)
    say("| canaries (of 20,000 benign) | mean benign bans | colluders quarantined |")
    say("|---|---|---|")
    for row in canaries:
        say(f"| {row.job.canaries} canaries | {row.benign:.1f} | {row.quarantined} |")
    say("")
    say(f"trade-off 3: one trusted word vs two members, against turncoats (N = {CURVE_N},"
        f" 30 %, {curve_seeds} seeds)")
    words = measure([
        Job(CURVE_N, 0.3, seed, turncoats=True, trust=(("single_word", float(single)),),
            ipsum=ipsum)
        for single in (True, False) for seed in range(curve_seeds)], workers)
    say("| alliance-wide block needs | mean benign bans | P4 banned | P5 cost p50/p95 s |")
    say("|---|---|---|---|")
    for row in words:
        alone = dict(row.job.trust)["single_word"]
        say(f"| {'one trusted member' if alone else 'two members, one trusted'} |"
            f" {row.benign:.1f} | {row.banned_share:.1%} | {row.cost(0.5):.0f}/{row.cost(0.95):.0f} |")
    swept = sweeps(say, curve_seeds, ipsum, workers)
    if plot is not None:
        draw(plot, probation, canaries, swept)
        say("")
        say(f"plot: {plot}")


def sweeps(
    say: Say, curve_seeds: int = 5, ipsum: str = "", workers: int = 2,
) -> dict[str, list[tuple[Row, Row]]]:
    """Each :data:`SWEEPS` setting over its values, the rest as shipped: what newcomer
    colluders and turncoats get banned, and what honest detections pay."""
    shipped = load_policy().trust
    jobs = [Job(n, 0.3, seed, turncoats=turncoats, trust=((name, value),), ipsum=ipsum)
            for name, values in SWEEPS for value in values for n in SWEEP_SIZES
            for turncoats in (False, True) for seed in range(curve_seeds)]
    rows = iter(measure(jobs, workers))
    swept: dict[str, list[tuple[Row, Row]]] = {}
    for name, values in SWEEPS:
        say("")
        say(f"sweep: [trust] {name} (30 % colluders, {curve_seeds} seeds; * = shipped)")
        say("| value | N | newcomers: P2 clean seeds (mean bans) | P4 banned | P4 p95 s |"
            " P5 cost p95 s | turncoats: benign bans | address-hours |")
        say("|---|---|---|---|---|---|---|---|")
        for value in values:
            for n in SWEEP_SIZES:
                newcomers, turncoats = next(rows), next(rows)
                swept.setdefault(name, []).append((newcomers, turncoats))
                mark = "*" if float(getattr(shipped, name)) == value else ""
                say(f"| {value:g}{mark} | {n} | {newcomers.clean_seeds}/{len(newcomers.runs)}"
                    f" ({newcomers.benign:.1f}) | {newcomers.banned_share:.1%} |"
                    f" {newcomers.delay(0.95):.0f} | {newcomers.cost(0.95):.0f} |"
                    f" {turncoats.benign:.1f} | {turncoats.benign_hours:.1f} |")
    return swept


def draw(
    path: Path, probation: Sequence[Row], canaries: Sequence[Row],
    swept: dict[str, list[tuple[Row, Row]]] | None = None,
) -> None:
    """The curves, as a PNG (needs matplotlib: ``pip install shieldwall[lab]``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, 2, figsize=(11, 8))
    (left, right), (low_left, low_right) = grid
    if swept:
        _draw_sweep(low_left, swept.get("solo_duration", []), "solo_duration", 60.0,
                    "provisional block (minutes)")
        _draw_sweep(low_right, swept.get("vet_precision", []), "vet_precision", 0.01,
                    "vet_precision (%)")
    else:
        low_left.axis("off")
        low_right.axis("off")
    hours = [dict(r.job.trust)["probation"] / 3600 for r in probation]
    left.plot(hours, [r.benign for r in probation], "o-", color="tab:red",
              label="benign bans per run (P2)")
    left.set_xlabel("probation (hours)")
    left.set_ylabel("benign addresses banned", color="tab:red")
    twin = left.twinx()
    twin.plot(hours, [r.cost(0.95) for r in probation], "s--", color="tab:blue",
              label="P5 p95 delay (s)")
    twin.set_ylabel("p95 extra delay for honest detections (s)", color="tab:blue")
    left.set_title(f"probation vs. newcomer liars (N={CURVE_N}, 30 %)")
    count = [r.job.canaries for r in canaries]
    right.plot(count, [r.benign for r in canaries], "o-", color="tab:red")
    right.set_xlabel("canaries among 20,000 benign addresses")
    right.set_ylabel("benign addresses banned per run")
    right.set_title(f"canaries vs. turncoats (N={CURVE_N}, 30 %)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _draw_sweep(axis: Any, pairs: Sequence[tuple[Row, Row]], name: str, unit: float,
                label: str) -> None:
    """P4 p95 (newcomer colluders) and turncoats' benign bans over one swept setting."""
    for n, style in zip(SWEEP_SIZES, ("o-", "s-"), strict=True):
        mine = [(dict(a.job.trust)[name] / unit, a, b) for a, b in pairs if a.job.n == n]
        xs = [x for x, _, _ in mine]
        axis.plot(xs, [a.delay(0.95) for _, a, _ in mine], style, color="tab:blue",
                  label=f"P4 p95 s, N={n}")
        axis.plot(xs, [b.benign for _, _, b in mine], style.replace("-", "--"),
                  color="tab:red", label=f"turncoats' benign bans, N={n}")
    axis.axhline(60, color="grey", linewidth=0.8)
    axis.set_xlabel(label)
    axis.set_title(f"[trust] {name} (30 % colluders)")
    axis.legend(fontsize=7)
