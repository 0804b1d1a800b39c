"""Enforcers: make the alliance's decisions bite.

The pure halves (``block``, ``plan``, ``nft_ruleset``, ``lookup``, ``exports``
renderers, ``imports``, ``forwarded``) take values and ``now`` and return
values. The I/O halves (``nftables`` runner, ``store``, ``blocklist_file``,
``asgi``/``wsgi`` middleware) carry them out. Every enforcer
(``nftables.NftablesEnforcer``, ``memory.MemoryEnforcer``,
``dry_run.DryRunEnforcer``) follows :class:`enforcer.Enforcer` and is built by
the one registry, :mod:`.registry`. Addresses and never-block lists live in
:mod:`shieldwall.addresses`.
"""
