"""Errors a user can cause, kept apart from programmer errors.

A `UserError` is printed by the CLI as one line (what, where, what to do) with a non-zero exit
and no traceback; anything else is a bug and keeps its traceback under ``--debug``.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, bad configuration, a missing file."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(UserError):
    """A wrong or missing value in ``citybrain.toml``; the message names the key."""


class EnvironmentProblem(UserError):
    """The machine lacks something the command needs (a JDK, a server, a package)."""

    exit_code = 3
