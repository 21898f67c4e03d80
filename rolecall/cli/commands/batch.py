"""``rolecall batch``: many role-plays from one spec into a folder, resumably, with a progress bar.

rolecall batch SPEC.yaml --out DIR [--concurrency N] [--cache FILE] [--engine local|ray]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console

from rolecall.batch import Batch, Progress, limited, load_batch_spec, summary
from rolecall.cli import options
from rolecall.cli.command import EXIT_FAILED, EXIT_OK, Command, register_command
from rolecall.models.base import ChatModel
from rolecall.models.endpoint import open_model
from rolecall.terminal.progress import batch_progress
from rolecall.transcripts import store


@register_command
class BatchCommand(Command):
    """Hold many role-plays from one spec, resumably."""

    name = "batch"
    quiet_help = "no progress bar, only the summary"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("spec", help="a batch spec (YAML)")
        parser.add_argument("--out", type=Path, required=True, help="folder for conversations, failures and manifest")
        options.add_concurrency_option(parser, note="; 1 makes its seeded runs repeatable")
        parser.add_argument("--cache", type=Path, help="SQLite response cache: replays seen requests offline")
        parser.add_argument("--engine", choices=("local", "ray"), default="local")
        parser.add_argument("--ray-address", help="an existing Ray cluster (default: start a local one)")
        options.add_endpoint_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        spec = load_batch_spec(args.spec)
        options.concurrency(args)  # a bad --concurrency is exit 2 before any work
        store.ensure_writable(args.out, "batch")
        chosen = options.endpoint(args, spec.template())
        spec_text = Path(args.spec).read_bytes().decode("utf-8", "replace")
        if args.engine == "ray":
            from rolecall.batch.ray_engine import run_on_ray

            progress = run_on_ray(
                spec, args.out, chosen, concurrency=options.concurrency(args), cache=args.cache,
                address=args.ray_address, spec_text=spec_text,
            )  # fmt: skip
        else:
            with open_model(chosen) as model:
                wrapped = limited(model, spec, cache=args.cache)
                with batch_progress(console, quiet=args.quiet) as on_change:
                    runner = Batch(
                        spec, args.out, wrapped, concurrency=options.concurrency(args, model), on_change=on_change,
                        spec_text=spec_text,
                    )  # fmt: skip
                    progress = asyncio.run(_run(runner, wrapped))
        console.print(summary(progress))
        return EXIT_OK if progress.failed == 0 and progress.stopped is None else EXIT_FAILED


async def _run(runner: Batch, model: ChatModel) -> Progress:
    try:
        return await runner.run()
    finally:
        await model.aclose()
