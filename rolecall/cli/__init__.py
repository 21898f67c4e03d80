"""The ``rolecall`` command line: the process around the commands, which are objects in one registry.

``main(argv) -> int`` builds the parser from :data:`COMMANDS` (each command declares its own
arguments, see :mod:`rolecall.cli.command`), runs the command chosen and turns what goes wrong
into an exit code: 0 success, 2 bad input (one line naming it), 1 run failure, no traceback
unless ``--debug``. ``--quiet`` and ``--debug`` are accepted by every command, before or after
its name. SIGTERM stops a command as Ctrl-C does, so transcripts are saved and servers
stopped. Options shared by several commands, and the layering of flag > environment > spec,
live in :mod:`rolecall.cli.options`; the commands in :mod:`rolecall.cli.commands`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from rich.console import Console

from rolecall._secrets import ScrubbingFilter
from rolecall._version import __version__
from rolecall.cli.command import (
    COMMANDS,
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    Command,
    register_command,
    stderr_line,
)
from rolecall.errors import RolecallError, SpecError

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "Command",
    "build_parser",
    "main",
    "register_command",
]


class _Parser(argparse.ArgumentParser):
    """A parser whose mistakes are one-line ``SpecError`` s (exit 2), not argparse's usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise SpecError(message)


def _add_global_flags(parser: argparse.ArgumentParser, *, quiet_help: str) -> None:
    # SUPPRESS: a flag given before the command name is not reset by the command's parser.
    parser.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet_help)
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of every registered command (plugins' included), with the global flags on each."""
    parser = _Parser(prog="rolecall", description="CAMEL-style multi-agent role-play.")
    parser.add_argument("--version", action="version", version=f"rolecall {__version__}")
    _add_global_flags(parser, quiet_help="print less (see each command's --quiet)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, kind in COMMANDS.members().items():
        command = kind()
        sub = commands.add_parser(
            name,
            help=kind.help(),
            description=kind.description() or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        _add_global_flags(sub, quiet_help=kind.quiet_help)
        sub.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    console = Console(highlight=False)
    debug = "--debug" in argv  # known before parsing, so a parse error can show its traceback too
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubbingFilter())
    previous = signal.signal(signal.SIGTERM, _terminate)
    libraries = logging.getLogger("mcp")
    library_level = libraries.level
    try:
        args = build_parser().parse_args(argv)
        args.quiet = getattr(args, "quiet", False)
        args.debug = getattr(args, "debug", False)
        if args.quiet and not debug:  # libraries' own logs too: an MCP server's stray line is not an error here
            libraries.setLevel(logging.CRITICAL)
        command: Command = args._command
        return command.run(args, console)
    except SpecError as exc:
        if debug:
            raise
        stderr_line(f"error: {exc}")
        return EXIT_BAD_INPUT
    except RolecallError as exc:
        if debug:
            raise
        stderr_line(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        stderr_line("interrupted")
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)
        libraries.setLevel(library_level)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM behaves like Ctrl-C, so transcripts are saved and the local server stopped."""
    raise KeyboardInterrupt
