"""A member's readiness: checks R1-R8, each ok / degraded / failing with a reason.

The evaluation is pure (:func:`~shieldwall.readiness.evaluate.evaluate`: what the
probes saw and ``now`` in, a :class:`~shieldwall.readiness.verdict.Verdict` out);
the probes (``probe_*`` modules) are the I/O half, each small and testable on its
own. ``shieldwall status`` (``cli/status.py``) runs both once.

====  ===========================================================================
R1    hub reachable, this member's key accepted, the agent's decision stream up
R2    stream lag: the agent's cursor against the hub's head
R3    enforcer verified: the kernel table holds what the block store says
R4    every configured source alive (exists, readable, lines as often as usual)
R5    packs and policy current with the alliance's versions
R6    clock skew against the hub
R7    outbox backlog and free disk space for it
R8    last drill passed
====  ===========================================================================
"""
