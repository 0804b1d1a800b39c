"""The arsenal: alliance rules distributed as signed TUF targets, measured, and promoted.

``rule`` parses a rule file, ``status`` says what each status may do, ``figures``
measures a rule version from ledger rows, ``gates`` checks figures against the
alliance's promotion gates, ``regression`` runs a rule over labelled fixtures.
The hub publishes rules with ``repository``; members fetch them with ``updater``
into an atomically swapped ``active`` set and run them with ``engine``.
"""
