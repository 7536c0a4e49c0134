"""Subcommands loaded when they run, so ``citybrain --help`` and ``--version`` start quickly.

Each subcommand module imports its stage (pandas, DuckDB, SQLAlchemy …) at import time; importing
them all made every command, even ``--version``, spend seconds starting. The top-level group knows
each subcommand by name, module and one-line help; the module is imported only when the command
runs or its own help is asked for. The command list in ``--help`` is drawn from the one-line helps.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand: ``module:attribute`` is a ``typer.Typer`` app or a command function."""

    module: str
    attribute: str
    help: str

    def load(self, name: str) -> Any:
        target = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = name
        return command


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands are :class:`LazyCommand` entries in ``lazy``."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}
    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        spec = self.lazy.get(cmd_name)
        if found is not None or spec is None:
            return found
        if self._listing:  # the command list in --help: its one-line help is enough
            return TyperCommand(cmd_name, help=spec.help, short_help=spec.help)
        command = spec.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            close = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {close[0]!r}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def lazy_group(commands: dict[str, LazyCommand]) -> type[LazyGroup]:
    """A :class:`LazyGroup` subclass holding ``commands`` (Typer takes the class, not an object)."""
    return type("CitybrainGroup", (LazyGroup,), {"lazy": dict(commands)})
