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
``exhausted``
    the connection used up all its attempts (sshd's ``maximum authentication
    attempts exceeded`` / ``Too many authentication failures`` after MaxAuthTries
    failures): it stands for that many attempts, less those its other lines
    already counted, so a client that never gets a ``Failed password`` line per
    attempt is counted, and one that did is not counted twice. A connection that
    ran out on refused keys alone (nothing else of it counted) stands for half
    of MaxAuthTries: a legitimate user whose agent offers too many keys does
    that once, and must not reach the brute-force threshold with one
    connection, while a second such connection in the window does (as with
    sshguard);
``connect``
    counts nothing: remembers the connection's address, so that later lines of
    the connection that name no address are blamed on what sshd wrote here;
``mark``
    counts nothing either, but marks the connection (Postfix's ``lost connection
    after AUTH``: whether it was a failure depends on what the server writes next);
``marked``
    counts one only on a marked connection nothing else counted (Postfix < 3.0's
    bare ``disconnect from``; Postfix >= 3.0 writes ``auth=0/1`` instead, which
    its own pattern counts, so an aborted AUTH is never counted twice);
``request``
    every line is one event (web, mail): no connection state.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Forget a connection after this much log time without a line.
CONNECTION_IDLE = 600.0
#: sshd's MaxAuthTries default: the attempts an exhausted connection stands for.
DEFAULT_MAX_AUTH_TRIES = 6
MAX_CONNECTIONS = 65536


@dataclass(slots=True)
class _Connection:
    key: str
    last: float
    counted: int = 0
    credit: int = 0
    marked: bool = False
    #: An ``exhausted`` line was counted (the next one is the same connection's end).
    exhausted: bool = False


class ConnectionTable:
    """Per-connection state for one stream of lines; bounded in size and time."""

    def __init__(self, max_tries: int = DEFAULT_MAX_AUTH_TRIES) -> None:
        #: How many attempts an ``exhausted`` connection stands for (the service's MaxAuthTries).
        self.max_tries = max_tries
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
            if role == "exhausted":
                return key, self.max_tries // 2  # nothing known of the connection: keys alone
            if role in ("mark", "marked"):
                return None, 0  # without a connection id there is nothing to mark
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
        if role == "exhausted":
            if state.exhausted:
                return state.key, 0  # sshd writes two lines for one exhausted connection
            state.exhausted = True
            stands_for = self.max_tries if state.counted else self.max_tries // 2
            added = max(stands_for - state.counted, 0)
            state.counted += added
            return state.key, added
        if role == "mark":
            state.marked = True
            return None, 0
        if role == "marked":
            if not state.marked or state.counted:
                return state.key, 0
            state.counted = 1
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
