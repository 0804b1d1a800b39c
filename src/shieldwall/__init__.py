"""Shieldwall: self-hosted collective defense for servers.

The flow of data, one package per stage::

    sources/ -> events/ -> detection/ -> signals/ -> hub/ -> decisions/ -> enforcers/

``agent/`` composes the member's stages; ``cli/`` is the one command, ``shieldwall``.
"""

__version__ = "0.1.0"
