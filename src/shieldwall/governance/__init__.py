"""Governance: the council's charter, its continuity, governed acts, the chair and the act log.

Pure core (values in, values out, the time passed in):

- :mod:`.signatures`: wire bounds, signing a digest, counting distinct signers.
- :mod:`.charter`: the signed, versioned charter and its guard rails.
- :mod:`.continuity`: which charter versions a verifier accepts (TUF's root-rotation rule).
- :mod:`.chair`: who chairs at a time; handovers.
- :mod:`.acts`: governed acts and whether signatures carry them.
- :mod:`.record`, :mod:`.state`: the hash-chained act log and the state it verifies to.
- :mod:`.proposals`, :mod:`.status`, :mod:`.history`, :mod:`.amend`: what the CLI drives.

I/O: :mod:`.store` (the council's folder). The hub and members adopt this package by
calling :func:`.state.replay` (or :func:`.continuity.follow_chain` for charters alone).
"""
