"""Enforcers: make the alliance's decisions bite.

The pure halves (``block``, ``allowlist``, ``desired``, ``plan``, ``nft_ruleset``,
``lookup``, ``exports``, ``imports``, ``forwarded``) take values and ``now`` and
return values. The I/O halves (``nftables`` runner, ``store``, ``asgi``/``wsgi``
middleware) carry them out. Every enforcer follows :class:`enforcer.Enforcer`.
"""
