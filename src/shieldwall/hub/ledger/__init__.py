"""The hub's memory: members, batches, signals and the decision log, behind one interface.

:mod:`.storage` defines the :class:`~.storage.Ledger` protocol and its records;
:mod:`.sqlite` is the embedded default. A PostgreSQL backend for several hub
replicas implements the same protocol.
"""
