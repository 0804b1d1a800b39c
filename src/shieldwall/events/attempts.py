"""Connection accounting: count each failed attempt once.

One failed SSH password usually writes two or three lines: ``Invalid user x
from A``, a PAM ``authentication failure ... rhost=A`` and ``Failed password for
invalid user x from A``. Counting lines would block a user who mistypes their
password twice. A pattern's *role* says how its line counts, per connection
(the service's process id, as the syslog header gives it):

``attempt``
    one attempt each (``Failed password``), unless a ``pam`` or ``connection``
    line of the same connection already counted it;
``pam``
    one attempt, and the next ``attempt`` line of the connection is the same one;
``connection``
    the connection failed as a whole (``Invalid user``, ``maximum authentication
    attempts exceeded``): counts one only if nothing of this connection counted yet;
``connect``
    counts nothing: remembers the connection's address, so that later lines of
    the connection that name no address are blamed on what sshd wrote here;
``request``
    every line is one event (web, mail): no connection state.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Forget a connection after this much log time without a line.
CONNECTION_IDLE = 600.0
MAX_CONNECTIONS = 65536


@dataclass(slots=True)
class _Connection:
    key: str
    last: float
    counted: int = 0
    credit: int = 0


class ConnectionTable:
    """Per-connection state for one stream of lines; bounded in size and time."""

    def __init__(self) -> None:
        self._conns: dict[bytes, _Connection] = {}
        self._next_sweep = 0.0
        self._since_sweep = 0

    def __len__(self) -> int:
        return len(self._conns)

    def weigh(
        self, role: str, conn: bytes | None, key: str | None, weight: int, now: float
    ) -> tuple[str | None, int]:
        """Return the key to blame and how many attempts this line adds (maybe 0)."""
        if conn is None or role == "request":
            if role == "connect" or not key:
                return None, 0
            return key, (1 if role == "connection" else weight)
        self._since_sweep += 1
        if now >= self._next_sweep and self._since_sweep >= len(self._conns):
            self._sweep(now)
        conns = self._conns
        state = conns.get(conn)
        if state is not None and (now - state.last > CONNECTION_IDLE or (key and key != state.key)):
            state = None  # a recycled process id, or another client: a new connection
        if state is None:
            if key is None:
                return None, 0
            if len(conns) >= MAX_CONNECTIONS:
                self._sweep(now, force=True)
            state = conns[conn] = _Connection(key=key, last=now)
        else:
            state.last = now
        if role == "attempt":
            credit = state.credit
            if credit:
                if credit >= weight:
                    state.credit = credit - weight
                    return state.key, 0
                state.credit = 0
                weight -= credit
            state.counted += weight
            return state.key, weight
        if role == "pam":
            credit = state.credit
            counted = weight
            if credit:
                absorbed = min(credit, counted)
                counted -= absorbed
                credit -= absorbed
            state.counted += counted
            state.credit = credit + weight
            return state.key, counted
        if role == "connection":
            if state.counted:
                return state.key, 0
            state.counted = 1
            state.credit = 1
            return state.key, 1
        return None, 0  # connect: the address is remembered, nothing counts

    def _sweep(self, now: float, force: bool = False) -> None:
        limit = now - CONNECTION_IDLE
        stale = [c for c, s in self._conns.items() if s.last < limit]
        for conn in stale:
            del self._conns[conn]
        if force and len(self._conns) >= MAX_CONNECTIONS:
            # Still full of live connections: drop the oldest half rather than grow.
            ordered = sorted(self._conns.items(), key=lambda item: item[1].last)
            for conn, _ in ordered[: len(ordered) // 2]:
                del self._conns[conn]
        # A sweep costs one step per connection: run it once per idle period of
        # log time, and only after as many lines as there are connections, so
        # that it costs at most one step per line at any rate.
        self._next_sweep = now + CONNECTION_IDLE
        self._since_sweep = 0
