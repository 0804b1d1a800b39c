"""Shieldwall's error tree.

Every error a user can see derives from :class:`ShieldwallError` and carries a
message that says what to fix. Foreign exceptions (OSError, tomllib, msgspec...)
are translated into these at the boundary where they happen.
"""


#: The command line's exit codes (the README's table): 0 ok, 1 a check failed or
#: something is out of step, 2 usage or input error, 3 this host lacks something.
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


class ShieldwallError(Exception):
    """Base of every error Shieldwall raises on purpose.

    ``exit_code`` is what the command line exits with when this error ends a command.
    """

    exit_code: int = EXIT_USAGE


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


class HubUnreachable(HubError):
    """No answer from the hub (down, wrong address, network): an environment problem."""

    exit_code = EXIT_ENVIRONMENT


class EnforcerError(ShieldwallError):
    """A block cannot be applied (no nftables, missing capability...)."""

    exit_code = EXIT_ENVIRONMENT


class HostError(ShieldwallError):
    """This host lacks what the command needs: root, a free port, a package, a reachable hub."""

    exit_code = EXIT_ENVIRONMENT


class GovernanceError(ShieldwallError):
    """A charter, proposal or governed act is refused: ``reason`` names the rule it broke."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ArsenalError(ShieldwallError):
    """An alliance rule, its signed target or its promotion is refused: ``reason`` says which check."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
