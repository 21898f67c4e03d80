"""``rolecall serve``: the embedded model's OpenAI-compatible server, in the foreground, for other tools.

rolecall serve [--port N] [--threads N] [--slots N] [--no-extra-layouts] [--gguf FILE [--name NAME]]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from rolecall.cli.command import EXIT_OK, Command, register_command
from rolecall.errors import SpecError
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer


@register_command
class Serve(Command):
    """Run the embedded model's OpenAI-compatible server."""

    name = "serve"
    quiet_help = "accepted for uniformity: the server prints only its address"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
        parser.add_argument("--threads", type=int, help="CPU threads (default: one per core)")
        parser.add_argument(
            "--slots", type=int, default=LocalServer.DEFAULT_SLOTS,
            help=f"sequences decoded together, each keeping its prompt (default: {LocalServer.DEFAULT_SLOTS})",
        )  # fmt: skip
        parser.add_argument(
            "--extra-layouts", action=argparse.BooleanOptionalAction, default=True,
            help="let llama.cpp repack the weights for this CPU; off by itself if the server crashes (default: on)",
        )  # fmt: skip
        parser.add_argument("--gguf", type=Path, help="serve this model file instead (a fine-tuned SmolLM2, say)")
        parser.add_argument("--name", help="the model name the server answers to (default: the file's name)")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        if args.threads is not None and not 1 <= args.threads <= 1024:
            raise SpecError(f"--threads {args.threads}: give a number of threads from 1 to 1024")
        if not 1 <= args.slots <= 256:
            raise SpecError(f"--slots {args.slots}: give a number of slots from 1 to 256")
        if args.gguf is not None and not args.gguf.is_file():
            raise SpecError(f"--gguf {args.gguf}: no such file")
        name = args.name or (args.gguf.stem if args.gguf is not None else LOCAL_MODEL_NAME)
        server = LocalServer(
            port=args.port, threads=args.threads, slots=args.slots, extra_layouts=args.extra_layouts, gguf=args.gguf,
            name=name,
        )  # fmt: skip
        server.start()
        try:
            console.print(f"serving {name} at {server.base_url} (Ctrl-C to stop)")
            console.print(f"[dim]OPENAI_BASE_URL={server.base_url} rolecall run …[/dim]")
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return EXIT_OK
