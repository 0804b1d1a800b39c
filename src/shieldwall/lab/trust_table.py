"""The trust simulation's table and trade-off curves: many runs, summed up.

Each row is one alliance size and colluder share over several seeds; the goals
(issue 16) are P1 = 0 protected bans at every share, P2 = 0 benign bans in at
least 9 of 10 seeds at 30 % colluders, P4 >= 95 % of attackers that reached two
honest members banned with p95 <= 60 s, P5 the delay trust adds over "today",
P8 = 0 alliance-wide bans from a newcomer's 10,000-address burst.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from shieldwall.hub.policy_config import load_policy
from shieldwall.lab.trust_model import build_world, ipsum_entries
from shieldwall.lab.trust_run import RunResult, run


@dataclass(frozen=True, slots=True)
class Job:
    """One run to make: the world's parameters and the policy's."""

    n: int
    share: float
    seed: int
    turncoats: bool = False
    trusted: bool = True
    #: Policy ``[trust]`` overrides, e.g. (("probation", 21600.0),).
    trust: tuple[tuple[str, float], ...] = ()
    canaries: int = 400
    ipsum: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One table row: ``runs`` summed up."""

    job: Job
    runs: tuple[RunResult, ...]

    @property
    def protected(self) -> int:
        return sum(r.protected_bans for r in self.runs)

    @property
    def clean_seeds(self) -> int:
        return sum(1 for r in self.runs if r.benign_bans == 0)

    @property
    def benign(self) -> float:
        return sum(r.benign_bans for r in self.runs) / len(self.runs)

    @property
    def benign_hours(self) -> float:
        """Mean address-hours benign addresses spent blocked, per run."""
        return sum(r.benign_hours for r in self.runs) / len(self.runs)

    @property
    def banned_share(self) -> float:
        eligible = sum(r.eligible for r in self.runs)
        return sum(r.banned for r in self.runs) / eligible if eligible else 1.0

    def delay(self, q: float, corroborated: bool = False) -> float:
        values = [d for r in self.runs
                  for d in (r.corroborated_delays if corroborated else r.ban_delays)]
        return quantile(values, q)

    def cost(self, q: float) -> float:
        return quantile([c for r in self.runs for c in r.costs], q)

    @property
    def burst(self) -> int:
        return max(r.burst_bans for r in self.runs)

    @property
    def quarantined(self) -> str:
        caught = sum(r.colluders_quarantined for r in self.runs)
        total = round(self.job.share * self.job.n) * len(self.runs)
        return f"{caught}/{total}" if total else "-"


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def one(job: Job) -> RunResult:
    """Make one run (a top-level function, so that a process pool can call it)."""
    config = load_policy()
    if job.trust:
        overrides: dict[str, object] = dict(job.trust)
        if "single_word" in overrides:
            overrides["single_word"] = bool(overrides["single_word"])
        config = replace(config, trust=replace(config.trust, **overrides))  # type: ignore[arg-type]
    ipsum = ipsum_entries(Path(job.ipsum) if job.ipsum else None)
    world = build_world(ipsum, job.n, job.share, job.seed, turncoats=job.turncoats,
                        canaries=job.canaries)
    return run(world, config, trusted=job.trusted)


def measure(jobs: Iterable[Job], workers: int = 1) -> list[Row]:
    """Run every job; rows group the seeds of otherwise equal jobs, in order."""
    jobs = list(jobs)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(one, jobs, chunksize=1))
    else:
        results = [one(job) for job in jobs]
    rows: dict[Job, list[RunResult]] = {}
    for job, result in zip(jobs, results, strict=True):
        rows.setdefault(replace(job, seed=0), []).append(result)
    return [Row(job, tuple(runs)) for job, runs in rows.items()]


def table_jobs(sizes: Sequence[int], shares: Sequence[float], seeds: int, ipsum: str = "",
               **job: object) -> list[Job]:
    """The jobs of the table: every size x share x seed."""
    return [Job(n, share, seed, ipsum=ipsum, **job)  # type: ignore[arg-type]
            for n in sizes for share in shares for seed in range(seeds)]


HEADER = ("| N | colluders | P1 protected bans | P2 seeds with 0 benign bans (mean bans) |"
          " benign address-hours | P4 banned | P4 p95 s (from 2nd) | P5 cost p50/p95 s | P8 burst bans |"
          " colluders quarantined |")


def render(rows: Sequence[Row]) -> list[str]:
    """The table, as Markdown lines."""
    lines = [HEADER, "|" + "---|" * 10]
    for row in rows:
        job = row.job
        lines.append(
            f"| {job.n} | {job.share:.0%} | {row.protected} |"
            f" {row.clean_seeds}/{len(row.runs)} ({row.benign:.1f}) | {row.benign_hours:.1f} |"
            f" {row.banned_share:.1%} | {row.delay(0.95):.0f} ({row.delay(0.95, True):.0f}) |"
            f" {row.cost(0.5):.0f}/{row.cost(0.95):.0f} | {row.burst} | {row.quarantined} |"
        )
    return lines


Say = Callable[[str], None]
