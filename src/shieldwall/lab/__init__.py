"""A throw-away alliance in network namespaces, for ``shieldwall demo`` and the e2e tests.

:mod:`.topology` plans namespaces, links and addresses as data (pure);
:mod:`.runner` applies a plan and removes everything it created, even on failure;
:mod:`.sshd`, :mod:`.nginx` and :mod:`.attacker` render the real services' configs
and the attacker's commands; :mod:`.alliance` puts a hub, members and an attacker
together; :mod:`.timeline` turns their logs into the detection -> block timeline.
"""
