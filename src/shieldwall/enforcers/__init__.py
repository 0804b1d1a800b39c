"""Enforcers: make the alliance's decisions bite.

The pure halves (``block``, ``allowlist``, ``desired``, ``plan``, ``nft_ruleset``,
``lookup``, ``exports`` renderers, ``imports``, ``forwarded``) take values and
``now`` and return values. The I/O halves (``nftables`` runner, ``store``,
``blocklist_file``, ``asgi``/``wsgi`` middleware) carry them out. Every enforcer
(``nftables.NftablesEnforcer``, ``memory.MemoryEnforcer``) follows
:class:`enforcer.Enforcer`.
"""
