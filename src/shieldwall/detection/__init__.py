"""Stage 3: events become detections.

A scenario (``scenarios.toml``) counts events of some kinds from some packs per
blamed address over a sliding window of *log* time; crossing its threshold is a
:class:`~.detection.Detection`. Everything here is pure and deterministic:
replaying the same log always gives the same detections.
"""
