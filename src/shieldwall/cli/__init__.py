"""The ``shieldwall`` command: one module per command group, registered in :mod:`.main`."""
