"""Shieldwall's error tree.

Every error a user can see derives from :class:`ShieldwallError` and carries a
message that says what to fix. Foreign exceptions (OSError, tomllib, msgspec...)
are translated into these at the boundary where they happen.
"""


class ShieldwallError(Exception):
    """Base of every error Shieldwall raises on purpose."""


class ConfigError(ShieldwallError):
    """A configuration file or option is wrong; the message names the key."""


class PackError(ShieldwallError):
    """A pattern pack is malformed, or one of its samples does not behave as annotated."""


class AddressError(ShieldwallError, ValueError):
    """Text that should be an IP address or CIDR is not one."""


class SourceError(ShieldwallError):
    """A log source cannot be read (missing file, no journal, no permission)."""


class SignalError(ShieldwallError):
    """A signed envelope is invalid: the message gives the rejection reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class HubError(ShieldwallError):
    """The hub refused a request or cannot be reached."""


class EnforcerError(ShieldwallError):
    """A block cannot be applied (no nftables, missing capability...)."""
