"""Hub replicas on PostgreSQL beside the single SQLite hub, in one run, with ratios.

Every hub here is real ``shieldwall hub serve`` processes on loopback: one SQLite
hub (synchronous=FULL), and replicas sharing one private PostgreSQL cluster
(Debian's initdb, fsync and synchronous_commit on). Members are real members
(joined, signing every batch); trust rules are off on both so that the same
policy work is done. Measured, on each side:

1. durable signals/s: M members send batches of B signals back to back, spread
   over the replicas (on PostgreSQL, half of them reach a follower, which relays
   to the leader and answers once the leader's commit is durable). The client is
   kept cheap, since it shares the cores with the hubs: before the timed window,
   each member seals enough distinct batches to beat the goal by a quarter (real
   Ed25519 envelopes with the member's own growing sequence numbers, each request
   signed over its body's hash, as the agent does); in the window, each member
   only writes its requests' bytes over one pinned TLS connection, one at a time,
   and checks that each is acknowledged as applied with all its signals. The hub
   receives and fully verifies, decides and commits every batch as an agent's;
   the client's CPU per 1,000 signals is printed beside the hubs';
2. append -> stream: one member sends one detection per round; latency from the
   send to its decision arriving on every open stream (streams spread over the
   replicas: 3 replicas x 16 streams, then 100 and 1,000 followers over 2). The
   followers run in ``--clients`` processes (the issue's "several per process"),
   each timing arrivals on ``time.perf_counter()`` (CLOCK_MONOTONIC, one clock for
   all processes); rounds start once every stream got the hub's first heartbeat
   (opening 1,000 TLS streams takes seconds, which were once timed as latency).
   The 3 x 16 and 100 cases use the agent's DecisionFollower; the 1,000 the
   issue's lightweight clients (LightFollower; --agent-followers for the agent's).
   CPU per round is printed for the client processes and the hubs: on a 2-core
   machine the clients share the cores with the hubs they measure.

Prints figures only; asserts nothing. Run: python bench/hub_replicas.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from math import ceil
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the private cluster and replica processes are the tests'

from tests.integration.hub_harness import free_port  # noqa: E402
from tests.integration.hub_processes import ReplicaSet, without_trust  # noqa: E402
from tests.integration.pg_cluster import running_cluster  # noqa: E402

from shieldwall.decisions.codec import SSEParser  # noqa: E402
from shieldwall.decisions.decision import Decision, decode_decision  # noqa: E402
from shieldwall.decisions.follow import DecisionFollower  # noqa: E402
from shieldwall.hub.config import HubConfig, load_hub_config  # noqa: E402
from shieldwall.hub.create import invite  # noqa: E402
from shieldwall.signals.client import HubClient, join  # noqa: E402
from shieldwall.signals.envelope import Ack, seal_envelope  # noqa: E402
from shieldwall.signals.member_state import (  # noqa: E402
    MemberState,
    SequenceCounter,
    pinned_context,
)
from shieldwall.signals.request_signature import sign_request  # noqa: E402
from shieldwall.signals.signal import Signal  # noqa: E402


def target(member: int, n: int) -> str:
    value = (member << 20) + n
    return f"{45 + (value >> 24) % 50}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


@contextmanager
def hub(root: Path, replicas: int, database: str = "") -> Iterator[tuple[HubConfig, ReplicaSet]]:
    data = root / ("pg" if database else "sqlite")
    extra = ["--database", database] if database else []
    subprocess.run([sys.executable, "-m", "shieldwall.cli.main", "hub", "init", "--data",
                    str(data), "--listen", f"127.0.0.1:{free_port()}", *extra],
                   check=True, stdout=subprocess.DEVNULL)
    with (data / "hub.toml").open("a") as toml:
        toml.write("signals_per_hour = 1000000000\nstreams_per_member = 64\n")
    config = without_trust(load_hub_config(data))
    replica_set = ReplicaSet(config)
    try:
        replica_set.start(config.listen)
        for _ in range(replicas - 1):
            replica_set.start(f"127.0.0.1:{free_port()}")
        yield config, replica_set
    finally:
        replica_set.stop()


async def members(config: HubConfig, root: Path, prefix: str, count: int,
                  listens: list[str]) -> list[MemberState]:
    out = []
    for i in range(count):
        token = await invite(config, f"{prefix}{i}", 3600.0, time.time())
        state = await join(token, root / f"{config.data_dir.name}-{prefix}{i}")
        out.append(dataclasses.replace(state, hub=listens[i % len(listens)], replicas=()))
    return out


@dataclasses.dataclass
class Sealed:
    """One member's batch, sealed before the timed window: the whole HTTP request."""

    request: bytes
    signals: int


def seal_batches(state: MemberState, index: int, count: int, batch: int) -> list[Sealed]:
    """``count`` distinct batches of ``member``, each signed as the agent signs one.

    Sequence numbers come from the member's own :class:`SequenceCounter` (persisted,
    growing: the hub applies each once, in order); each request is signed with the
    body's hash like :meth:`HubClient.send_sealed`, at sealing time (within the hub's
    five minutes of skew).
    """
    sequence = SequenceCounter(state.data_dir)
    target_path = "/v1/signals"
    out = []
    for k in range(count):
        signals = [Signal(kind="detection", target=target(index, k * batch + i),
                          scenario="ssh-bruteforce", count=6) for i in range(batch)]
        now = time.time()
        raw = seal_envelope(state.seed, state.key_id, sequence.next(now), now, signals)
        headers = sign_request(state.seed, state.key_id, "POST", target_path, now, raw)
        headers |= {"host": state.hub, "content-type": "application/json",
                    "content-length": str(len(raw))}
        head = f"POST {target_path} HTTP/1.1\r\n".encode() + b"".join(
            f"{name}: {value}\r\n".encode() for name, value in headers.items()) + b"\r\n"
        out.append(Sealed(head + raw, batch))
    return out


async def post_sealed(state: MemberState, batches: list[Sealed], deadline: float) -> int:
    """POST ``batches`` in order over one pinned TLS connection until ``deadline``.

    Returns the signals the hub acknowledged as applied; anything else is an error.
    """
    host, port = state.hub.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(
        host, int(port), ssl=pinned_context(state.cert_pem), limit=1 << 20)
    applied = 0
    try:
        for sealed in batches:
            if time.perf_counter() >= deadline:
                break
            writer.write(sealed.request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
                          if line.startswith(b"content-length:"))
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"the hub refused a batch: {head[:40]!r} {body[:300]!r}")
            ack = msgspec.json.decode(body, type=Ack)
            if ack.status != "applied" or ack.signals != sealed.signals:
                raise RuntimeError(f"unexpected acknowledgement {ack}")
            applied += ack.signals
    finally:
        writer.close()
    return applied


@dataclasses.dataclass
class Throughput:
    """The throughput phase's figures."""

    rate: float
    signals: int
    #: CPU seconds of this (the client's) process during the timed window.
    client_cpu: float
    #: Members that sent every batch sealed for them before the deadline.
    exhausted: int


async def throughput(states: list[MemberState], batch: int, seconds: float,
                     goal: float, opened: Callable[[], None]) -> Throughput:
    """Members POST pre-sealed batches back to back for ``seconds``; signals/s applied.

    Sealing (building, signing, sequence numbers) is done before the window for
    enough batches to beat 1.25 x ``goal``; only the requests' bytes are sent in it.
    ``opened`` is called as the window opens.
    """
    count = max(2, ceil(goal * seconds * 1.25 / batch / len(states)))
    sealed = [seal_batches(s, i, count, batch) for i, s in enumerate(states)]
    opened()
    cpu = cpu_seconds(os.getpid())
    start = time.perf_counter()
    deadline = start + seconds
    sent = await asyncio.gather(*(post_sealed(s, b, deadline) for s, b in zip(states, sealed,
                                                                              strict=True)))
    elapsed = time.perf_counter() - start
    return Throughput(sum(sent) / elapsed, sum(sent), cpu_seconds(os.getpid()) - cpu,
                      sum(n == count * batch for n in sent))


@dataclasses.dataclass
class Propagation:
    """One propagation case: every arrival's latency, and the CPU spent per round."""

    latencies: list[float]
    #: CPU seconds per round of the follower processes (plus the sender's), and of the hubs.
    client_cpu: float
    hub_cpu: float
    #: Of ``hub_cpu``, the part spent in the kernel (TLS records' TCP sends on loopback).
    hub_kernel: float


class LightFollower:
    """A minimal stream client: one signed GET over pinned TLS, the body parsed as SSE.

    What the issue calls a lightweight client: it checks that cursors only grow by
    one (no gap, no duplicate) and nothing else, so a client process costs a tenth
    of a :class:`DecisionFollower` (httpx, httpcore and anyio per event) and the
    figure measures the hub's fan-out more than the client machine.
    """

    def __init__(self, state: MemberState, after: int) -> None:
        self.state, self.cursor = state, after
        self.followed: str | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LightFollower:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()

    async def __aiter__(self) -> AsyncIterator[Decision]:
        host, port = self.state.hub.rsplit(":", 1)
        reader, self._writer = await asyncio.open_connection(
            host, int(port), ssl=pinned_context(self.state.cert_pem), limit=1 << 20)
        target = "/v1/decisions/stream"
        headers = sign_request(self.state.seed, self.state.key_id, "GET", target, time.time())
        headers |= {"host": self.state.hub, "accept": "text/event-stream",
                    "last-event-id": str(self.cursor)}
        self._writer.write(f"GET {target} HTTP/1.1\r\n".encode() + b"".join(
            f"{name}: {value}\r\n".encode() for name, value in headers.items()) + b"\r\n")
        status = await reader.readuntil(b"\r\n\r\n")
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream refused: {status[:200]!r}")
        parser = SSEParser()
        while True:  # the body is chunked: a size line, that many bytes, CRLF
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            for event in parser.feed(chunk[:-2]):
                if event.event == "heartbeat":
                    self.followed = self.state.hub
                elif event.event == "decision":
                    decision = decode_decision(event.data)
                    if decision.cursor != self.cursor + 1:
                        raise RuntimeError(f"cursor {decision.cursor} after {self.cursor}")
                    self.cursor = decision.cursor
                    yield decision


def follower_process(conn: Connection, states: list[MemberState], head: int,
                     use_uvloop: bool, light: bool = False) -> None:
    """One client process: follows with its share of the streams, reports arrivals.

    It sends ``("live", n)`` once every stream got the hub's first heartbeat, then
    ``(cursor, [arrival times])`` as soon as all its streams got ``cursor``, and on
    ``"stop"`` what is left (``("rest", {cursor: times})``). Times are
    ``time.perf_counter()``: CLOCK_MONOTONIC, the same clock in every process.
    """
    if use_uvloop:
        import uvloop  # only in a client process, and only when asked
        uvloop.run(_follow_share(conn, states, head, light))
    else:
        asyncio.run(_follow_share(conn, states, head, light))


async def _follow_share(conn: Connection, states: list[MemberState], head: int,
                        light: bool) -> None:
    arrivals: dict[int, list[float]] = {}
    live: list[DecisionFollower | LightFollower] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopped() -> None:  # the only message the bench sends: stop
        loop.remove_reader(conn.fileno())
        stop.set()

    loop.add_reader(conn.fileno(), stopped)

    async def one(state: MemberState) -> None:
        follower = LightFollower(state, head) if light else DecisionFollower(state, after=head)
        async with follower:
            live.append(follower)
            async for decision in follower:
                got = arrivals.setdefault(decision.cursor, [])
                got.append(time.perf_counter())
                if len(got) == len(states):
                    conn.send((decision.cursor, arrivals.pop(decision.cursor)))

    tasks = [asyncio.create_task(one(s)) for s in states]
    # Live means the hub's first heartbeat arrived (the stream is subscribed), not
    # merely opened: 1,000 TLS handshakes take seconds, and must not be timed.
    while len(live) < len(states) or any(f.followed is None for f in live):
        for task in tasks:
            if task.done():
                task.result()  # a stream that failed to open ends this process
        await asyncio.sleep(0.05)
    conn.send(("live", len(states)))
    await stop.wait()
    for task in tasks:
        task.cancel()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if not isinstance(result, asyncio.CancelledError | None):
            print(f"  a follower failed: {result!r}", file=sys.stderr)  # a gap, say
    conn.send(("rest", arrivals))


async def fanout(
    sender: MemberState, followers: list[MemberState], rounds: int, first: int,
    hubs: list[int], clients: int, use_uvloop: bool, light: bool = False,
) -> Propagation:
    """``rounds`` decisions from ``sender``, timed to their arrival on every follower.

    The followers are :class:`DecisionFollower` clients (``light``: :class:`LightFollower`
    ones), spread over ``clients`` processes ("lightweight clients, several per process"): in one
    process, the 1,000th stream's arrival would wait for the client's own work on
    the 999 before it, which no member's machine has to do.
    """
    async with DecisionFollower(sender) as probe:
        head = (await probe.page(0, 1)).head
    context = multiprocessing.get_context("spawn")
    shares = [followers[i::clients] for i in range(min(clients, len(followers)))]
    pipes = [context.Pipe() for _ in shares]
    workers = [context.Process(target=follower_process, args=(child, share, head, use_uvloop, light),
                               daemon=True) for (_, child), share in zip(pipes, shares, strict=True)]
    for worker in workers:
        worker.start()
    complete: dict[object, int] = {}
    arrivals: dict[int, list[float]] = {}
    rests: list[dict[int, list[float]]] = []
    loop = asyncio.get_running_loop()

    def receive(conn: Connection) -> None:
        while conn.poll():
            key, value = conn.recv()
            if key == "rest":
                rests.append(value)
                loop.remove_reader(conn.fileno())
                return
            if isinstance(key, int):
                arrivals.setdefault(key, []).extend(value)
            complete[key] = complete.get(key, 0) + 1

    for conn, _ in pipes:
        loop.add_reader(conn.fileno(), receive, conn)
    t_open = time.perf_counter()
    while complete.get("live", 0) < len(workers):
        if not all(w.is_alive() for w in workers):
            raise RuntimeError("a follower process died")
        await asyncio.sleep(0.05)
    print(f"  {len(followers)} streams live in {time.perf_counter() - t_open:.1f} s"
          f" ({len(workers)} client processes)", flush=True)
    await asyncio.sleep(1.0)
    pids = [os.getpid(), *(w.pid for w in workers if w.pid is not None)]
    sent: dict[int, float] = {}
    cpu = (sum(map(cpu_seconds, pids)), sum(map(cpu_seconds, hubs)),
           sum(cpu_seconds(pid, user=False) for pid in hubs))
    async with HubClient(sender) as client:
        for r in range(rounds):
            t0 = time.perf_counter()
            ack = await client.send([Signal(kind="detection", target=target(200, first + r),
                                            scenario="ssh-bruteforce", count=6)])
            (cursor,) = ack.decisions
            sent[cursor] = t0
            for _ in range(1000):
                if complete.get(cursor, 0) >= len(workers):
                    break
                await asyncio.sleep(0.002)
            else:
                got = len(arrivals.get(cursor, []))
                print(f"  round {r}: {len(followers) - got} streams missed {cursor} in 2 s")
            await asyncio.sleep(0.02)
    client_cpu = (sum(map(cpu_seconds, pids)) - cpu[0]) / rounds
    hub_cpu = (sum(map(cpu_seconds, hubs)) - cpu[1]) / rounds
    hub_kernel = (sum(cpu_seconds(pid, user=False) for pid in hubs) - cpu[2]) / rounds
    for conn, _ in pipes:
        conn.send("stop")
    deadline = time.perf_counter() + 30.0
    while len(rests) < len(workers) and time.perf_counter() < deadline:
        if not any(w.is_alive() for w in workers):
            break
        await asyncio.sleep(0.02)
    for worker in workers:
        worker.join(10)
        if worker.is_alive():
            worker.kill()  # our own child, by its handle
    for conn, _ in pipes:
        loop.remove_reader(conn.fileno())
    for rest in rests:
        for cursor, times in rest.items():
            arrivals.setdefault(cursor, []).extend(times)
    latencies = [(t - sent[cursor]) * 1000 for cursor, times in arrivals.items()
                 if cursor in sent for t in times]
    return Propagation(sorted(latencies), client_cpu, hub_cpu, hub_kernel)


def cpu_seconds(pid: int, user: bool = True) -> float:
    """User (unless not ``user``) + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) * user + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantiles(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {ms[int(len(ms) * 0.99)]:6.1f} ms"


async def side(root: Path, args: argparse.Namespace, database: str) -> dict[str, object]:
    figures: dict[str, object] = {}
    replicas = 3 if database else 1
    with hub(root, replicas, database) as (config, replica_set):
        listens = [r.listen for r in replica_set.replicas]
        two = listens[:2]
        cases = (("3 x 16 streams", 48, listens), ("100 followers / 2", 100, two),
                 (f"{args.many} followers / 2", args.many, two))
        # Everyone joins first, while the hub is idle (a join is a TLS handshake or two).
        senders = await members(config, root, "s", args.members, two)
        reporter = (await members(config, root, "r", 1, two[-1:]))[0]
        followers = {label: await members(config, root, f"f{count}-", max(1, count // 50), spread)
                     for label, count, spread in cases}
        pids = [r.process.pid for r in replica_set.replicas]
        cpu = [0.0]

        def window_opens() -> None:  # after sealing: the hubs' CPU of the timed window only
            cpu[0] = sum(map(cpu_seconds, pids))

        phase = figures["throughput"] = await throughput(
            senders, args.batch, args.seconds, 50_000 if database else 100_000, window_opens)
        # CPU the hub processes spent per 1,000 acknowledged signals: a figure that a
        # shared machine's load disturbs far less than the rate itself.
        figures["cpu ms/1000"] = (sum(map(cpu_seconds, pids)) - cpu[0]) / phase.signals * 1e6
        for case, (label, count, spread) in enumerate(cases):
            states = followers[label]
            streams = [dataclasses.replace(states[i % len(states)], hub=spread[i % len(spread)])
                       for i in range(count)]
            # The N = 1,000 goal is for lightweight clients; the smaller cases (and
            # that one with --agent-followers) use the agent's own follower.
            light = count == args.many and not args.agent_followers
            figures[label] = await fanout(reporter, streams, args.rounds, case * 10_000, pids,
                                          args.clients, args.uvloop, light)
    return figures


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp, \
            running_cluster(fsync=True) as cluster:
        root = Path(tmp)
        lite = await side(root, args, "")
        pg = await side(root, args, cluster.new_database())
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
          " (2 cores; the goals assume a quiet machine)")
    print(f"durable signals/s ({args.members} members, batches of {args.batch}, {args.seconds:g} s):")
    x, y = lite["throughput"], pg["throughput"]
    assert isinstance(x, Throughput) and isinstance(y, Throughput)
    print(f"  SQLite, 1 hub:            {x.rate:>10,.0f}   (goal >= 100,000);"
          f" hub CPU {lite['cpu ms/1000']:.1f} ms per 1,000 signals;"
          f" client {x.client_cpu / x.signals * 1e6:.1f} ms")
    print(f"  PostgreSQL, 2 replicas:   {y.rate:>10,.0f}   (goal >= 50,000);"
          f" replicas' CPU {pg['cpu ms/1000']:.1f} ms per 1,000 signals (PostgreSQL's not counted);"
          f" client {y.client_cpu / y.signals * 1e6:.1f} ms")
    print(f"  ratio PostgreSQL/SQLite:  {y.rate / x.rate:.2f}x")
    for label, phase in (("SQLite", x), ("PostgreSQL", y)):
        if phase.exhausted:
            print(f"  ({label}: {phase.exhausted} members sent every batch sealed for them"
                  " before the window ended: the rate is a floor)")
    print(f"send -> decision on every stream ({args.rounds} rounds; SQLite: the same streams,"
          f" all on its one hub; followers spread over {args.clients} client processes;"
          f" the {args.many} are {'DecisionFollower' if args.agent_followers else 'lightweight'}"
          " clients):")
    for label, goal in (("3 x 16 streams", 50), ("100 followers / 2", 200),
                        (f"{args.many} followers / 2", 300)):
        x, y = lite[label], pg[label]
        assert isinstance(x, Propagation) and isinstance(y, Propagation)
        a, b = x.latencies, y.latencies
        print(f"  {label:20} SQLite {quantiles(a)} | PostgreSQL {quantiles(b)}"
              f" | p99 ratio {b[int(len(b) * 0.99)] / max(a[int(len(a) * 0.99)], 1e-3):.2f}x"
              f" (goal p99 <= {goal} ms)")
        print(f"  {'':20} CPU per round: clients {x.client_cpu * 1000:5.0f} ms, hub"
              f" {x.hub_cpu * 1000:5.0f} ms | clients {y.client_cpu * 1000:5.0f} ms,"
              f" replicas {y.hub_cpu * 1000:5.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--many", type=int, default=1000, help="followers in the last case")
    parser.add_argument("--clients", type=int, default=4,
                        help="processes the followers are spread over (several per process)")
    parser.add_argument("--agent-followers", action="store_true",
                        help="the last case with DecisionFollower too (about 2.5x the client CPU)")
    parser.add_argument("--uvloop", action="store_true",
                        help="follower processes on uvloop (the agent runs plain asyncio)")
    parser.add_argument("--quick", action="store_true", help="small figures, to try it out")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.seconds, parsed.rounds, parsed.many = 2.0, 5, 200
    asyncio.run(main(parsed))
