"""What a ``rolecall`` command is, and the one registry that built-in commands and users' commands join alike.

A command declares its arguments and runs; :func:`rolecall.cli.main` builds the parser from
:data:`COMMANDS` and does the rest (exit codes, one-line errors, ``--quiet`` and ``--debug``,
signals). A built-in command is one module of :mod:`rolecall.cli.commands`, found there with
nothing else edited; a plugin joins by :func:`register_command` or by the entry-point group
``rolecall.commands``::

    [project.entry-points."rolecall.commands"]
    hello = "my_package.cli:Hello"
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import ClassVar

from rich.console import Console

from rolecall._secrets import clean
from rolecall.errors import one_line
from rolecall.registry import Registry

ENTRY_POINT_GROUP = "rolecall.commands"
#: The exit codes of every command: success, a run that failed, bad input (a one-line error).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Command:
    """One ``rolecall`` subcommand. Subclass, set ``name``, write :meth:`run`, register.

    The class docstring is the command's help: its first line in ``rolecall --help``, all of it
    in ``rolecall NAME --help``. ``--quiet`` and ``--debug`` are every command's already
    (``args.quiet``, ``args.debug``); ``quiet_help`` says what ``--quiet`` leaves out.
    Raise :class:`rolecall.SpecError` for bad input (exit 2) and another
    :class:`rolecall.RolecallError` for a run that failed (exit 1).
    """

    name: ClassVar[str] = ""
    quiet_help: ClassVar[str] = "no progress bars"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's own arguments (none by default)."""

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Do the work and print to ``console`` (stdout); return the exit code."""
        raise NotImplementedError

    @classmethod
    def help(cls) -> str:
        """The first line of the docstring: what ``rolecall --help`` says of the command."""
        return cls.description().split("\n", 1)[0]

    @classmethod
    def description(cls) -> str:
        doc = cls.__doc__ if "__doc__" in vars(cls) else None  # not the base class's docstring
        return inspect.cleandoc(doc) if doc else ""


#: Every command, in the order they joined: the built-ins (``rolecall.cli.commands``) first, then plugins.
COMMANDS: Registry[Command] = Registry(
    "command", ENTRY_POINT_GROUP, Command, name_of=lambda command: command.name, package="rolecall.cli.commands"
)


def register_command(command: type[Command]) -> type[Command]:
    """Add ``command`` to the registry (usable as a class decorator)."""
    return COMMANDS.register(command)


def stderr_line(message: str) -> None:
    """One plain line on stderr: never wrapped, never styled, never holding a secret."""
    print(f"rolecall: {one_line(clean(message))}", file=sys.stderr)
