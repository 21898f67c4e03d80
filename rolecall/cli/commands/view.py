"""``rolecall view``: serve the browser viewer (:mod:`rolecall.viewer`) over transcripts and datasets until Ctrl-C.

rolecall view FILE_OR_DIR... [--port N] [--host ADDR] [--review [--marks FILE]] [--judge NAME]
"""

from __future__ import annotations

import argparse
import signal
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from rolecall.cli import options
from rolecall.cli.command import EXIT_OK, Command, register_command, stderr_line
from rolecall.errors import SpecError
from rolecall.transcripts.marks import marks_beside
from rolecall.viewer import Catalog, Viewer, ViewServer

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@register_command
class View(Command):
    """Browse transcripts and datasets in the browser (a local web app)."""

    name = "view"
    quiet_help = "accepted for uniformity: the viewer prints only its address"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--port", type=int, default=8642, help="port (default 8642; 0 picks a free one)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
        parser.add_argument("--review", action="store_true", help="allow keep/drop marks, saved beside the data")
        parser.add_argument("--marks", type=Path, help="the marks file (default: rolecall-marks.jsonl beside the data)")
        options.add_judge_option(parser, "gives each turn its verdict")
        options.add_endpoint_options(parser, of="the llm judge's")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        paths = [Path(path) for path in args.paths]
        for path in paths:
            if not path.exists():
                raise SpecError(f"{path}: no such file or folder")
        if not 0 <= args.port <= 65535:
            raise SpecError(f"--port {args.port}: give a port between 0 and 65535")
        marks = args.marks or marks_beside(paths[0])
        if args.review:
            options.check_writable(marks, "marks")
        catalog = Catalog(paths)
        catalog.refresh()
        stack = ExitStack()
        judge = options.open_judge_of(args, stack)  # a model server starts with the first page judged
        try:
            viewer = Viewer(catalog, marks_path=marks, review=args.review, judge=judge)
            server = ViewServer(viewer, host=args.host, port=args.port)
        except OSError as exc:
            stack.close()
            raise SpecError(f"--port {args.port}: cannot listen on {args.host}: {exc.strerror}") from None
        if args.host not in _LOOPBACK:
            stderr_line(f"warning: listening on {args.host}: anyone who can reach this machine can read the data")
        console.print(f"{len(catalog.entries)} entries · [bold]{server.url}[/bold] · Ctrl-C stops")
        if args.review:
            console.print(f"[dim]marks go to {marks}[/dim]")
        server.start()
        try:
            signal.pause()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the normal way to stop a viewer
            pass
        finally:
            server.stop()
            stack.close()
        return EXIT_OK
