"""Governance: the council's charter, its continuity, governed acts, the chair and the act log.

Pure core (values in, values out, the time passed in):

- :mod:`.signatures`: wire bounds, signing a digest, counting distinct signers.
- :mod:`.charter`: the signed, versioned charter and its guard rails.
- :mod:`.continuity`: which charter versions a verifier accepts (TUF's root-rotation rule).
- :mod:`.chair`: who chairs at a time; handovers.
- :mod:`.acts`: governed acts and whether signatures carry them.
- :mod:`.record`, :mod:`.state`: the hash-chained act log and the state it verifies to.
- :mod:`.proposals`, :mod:`.status`, :mod:`.history`, :mod:`.amend`: what the CLI drives.

I/O: :mod:`.store` (the council's folder).

How the hub and members adopt it (not wired yet): both hold the act log's records
and call :func:`.state.in_force` (records, the founding charter's digest pinned in the
join token, now, and the (seq, head) they verified last), or :func:`.state.apply` per
new record. The resulting :class:`.state.CouncilState` is the one source of truth for
the hub keys (``trusted.charter.hub_keys``), the policy and never-block hashes, the
members admitted and expelled, the wide ranges allowed, and ``charter_hex``, which a
signed decision names as its policy version.
"""
