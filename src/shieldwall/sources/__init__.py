"""Stage 1 of the flow: log sources produce chunks of complete lines.

A chunk is ``bytes`` ending with ``b"\\n"`` (it may hold many lines), consumed by
``EventStream.feed``. Lines longer than 64 KiB are cut (and counted); CRLF and
invalid UTF-8 pass through untouched.
"""
