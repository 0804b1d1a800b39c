"""The hub's ledger on PostgreSQL, for several hub replicas on one database.

:mod:`.schema` holds the versioned migrations and the start-up check;
:mod:`.lease` (pure) and :mod:`.elector` elect the one replica that decides;
:mod:`.decision_log` appends the leader's decisions under its epoch (fencing);
:mod:`.tail` fans the log out to every replica by LISTEN/NOTIFY plus catch-up reads.
"""
