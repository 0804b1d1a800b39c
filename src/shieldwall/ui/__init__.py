"""The alliance's dashboard, served by the hub under ``/ui/``.

Server-rendered HTML (Jinja2 templates shipped as package data), readable with
JavaScript off; two small vendored, hash-pinned scripts (htmx and its SSE
extension) add the live decision rows. Read-only unless an operator logs in
(:mod:`.access`). Modules: :mod:`.routes` (the mount), :mod:`.pages` (GET),
:mod:`.actions` (POST and login), :mod:`.live` (the feed), :mod:`.views` and
:mod:`.charts` (pure: what pages show), :mod:`.institutions` (readiness, drills,
council, arsenal records), :mod:`.render` (templates and static files).
"""
