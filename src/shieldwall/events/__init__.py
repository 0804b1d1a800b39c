"""Stage 2: log lines become events.

A pack (``packs/*.toml``) is data: regular expressions for one service, with
annotated sample lines. :mod:`.patterns` compiles a pack into one scanner that
turns a buffer of complete lines into :class:`~.event.Event` values. Which address
an event blames comes only from the fields the service itself writes.
"""
