"""The member side, composed: sources -> events -> detection -> signals, and
decisions -> enforcers.

:mod:`.core` is pure (inputs and ``now`` in, commands out); :mod:`.runtime` is
the one driver that reads sources, talks to the hub and runs the enforcer.
"""
