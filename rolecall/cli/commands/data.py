"""``rolecall harvest`` and ``rolecall stats``: transcripts read as data, into a training dataset or a summary.

    rolecall harvest FILE_OR_DIR... --format FMT --out DIR [--perspective P] [--loss all|last] ...
    rolecall stats FILE_OR_DIR... [--plot FILE.html|FILE.png] [--judge NAME]

Both read every line under the paths given, with a progress bar on stderr (off with ``--quiet``
or when stderr is not a terminal).
"""

from __future__ import annotations

import argparse
import dataclasses
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from rolecall.cli import options
from rolecall.cli.command import EXIT_OK, Command, register_command
from rolecall.errors import SpecError
from rolecall.judges.recorded import draft_reader, turn_reader
from rolecall.transcripts import store
from rolecall.transcripts.formats import FORMATS
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.marks import read as read_marks
from rolecall.transcripts.quality import QualityFloor, content_verdicts
from rolecall.transcripts.report import HarvestOptions
from rolecall.transcripts.stats import collect, plot, render


@register_command
class Harvest(Command):
    """Turn transcripts into a training dataset."""

    name = "harvest"
    quiet_help = "no summary or progress bar, only problems"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", type=Path, required=True, help="folder for the dataset")
        parser.add_argument("--perspective", default="assistant", help="assistant, user, or an agent name")
        parser.add_argument("--loss", choices=("all", "last"), default="all")
        parser.add_argument(
            "--reasons", default="task_done,graph_complete", help="termination reasons to keep (comma-separated)"
        )
        parser.add_argument("--min-turns", type=int, default=1)
        parser.add_argument("--min-score", type=float, help="drop conversations scoring below this (0..1)")
        options.add_judge_option(parser, "says which turns are on task (lexical: word counts)")
        options.add_endpoint_options(parser, of="the llm judge's")
        parser.add_argument("--no-near-dup", action="store_true", help="exact dedup only")
        parser.add_argument("--near-dup-threshold", type=float, default=0.8)
        parser.add_argument("--split", type=float, default=1.0, help="train share, e.g. 0.95 (by task and roles)")
        parser.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation split")
        parser.add_argument(
            "--keep-rejected", action="store_true", help="write dropped conversations to rejected.jsonl"
        )
        parser.add_argument(
            "--tools-ok", action="store_true", help="keep only conversations whose tool calls all validated and ran"
        )
        parser.add_argument("--no-human", action="store_true", help="drop conversations in which a person wrote turns")
        parser.add_argument(
            "--content-checks", choices=("conversation", "turns", "off"), default="conversation",
            help="drop a role-play with any turn off task (default), train only its turns on task, "
            "or check structure only",
        )  # fmt: skip
        parser.add_argument(
            "--marks", type=Path,
            help="a reviewer's keep/drop marks (rolecall view --review): drop, or keep past the floor",
        )  # fmt: skip

    def run(self, args: argparse.Namespace, console: Console) -> int:
        if args.min_turns < 0:
            raise SpecError("--min-turns: give 0 or more")
        floor = QualityFloor(
            reasons=frozenset(reason.strip() for reason in args.reasons.split(",") if reason.strip()),
            min_turns=args.min_turns,
            min_score=args.min_score,
            tools_ok=args.tools_ok,
            human=not args.no_human,
            content=args.content_checks,
        )
        marks = {id: mark.verdict for id, mark in read_marks(args.marks).items()} if args.marks else {}
        settings = HarvestOptions(
            format=args.format, perspective=args.perspective, loss=args.loss, floor=floor,
            near_dup=not args.no_near_dup, near_dup_threshold=args.near_dup_threshold, train_share=args.split,
            seed=args.split_seed, keep_rejected=args.keep_rejected, marks=marks,
        )  # fmt: skip
        with ExitStack() as stack:
            judge = options.open_judge_of(args, stack)
            lexical = judge.name == "lexical"  # the word counts read transcripts directly, as fast as ever
            settings = dataclasses.replace(
                settings,
                judge=judge.name,
                turn_reader=None if lexical else turn_reader(judge),
                draft_reader=draft_reader(judge),
            )
            with options.reading(args, "harvesting"):
                report = harvest(args.paths, args.out, settings)
        options.report_unreadable(report.malformed)
        if args.quiet:
            return EXIT_OK
        dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(report.dropped.items())) or "none"
        rows = ", ".join(f"{split} {count}" for split, count in sorted(report.rows.items())) or "no rows"
        console.print(
            f"read {report.read}, kept {report.kept} ({rows}); dropped: {dropped}; "
            f"unreadable lines {len(report.malformed)}; secrets scrubbed {report.secrets_scrubbed}"
            + (f"; kept past the floor by marks {report.kept_by_mark}" if marks else "")
            + (f"; turns left untrained {sum(report.untrained.values())}" if args.content_checks == "turns" else "")
        )
        console.print(f"[dim]dataset and card in {args.out}[/dim]")
        return EXIT_OK


@register_command
class Stats(Command):
    """Counts and distributions over transcripts."""

    name = "stats"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
        parser.add_argument("--plot", type=Path, help="write the distributions to FILE.html or FILE.png")
        options.add_judge_option(parser, "says which turns are on task")
        options.add_endpoint_options(parser, of="the llm judge's")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        reader = store.Reader()
        with ExitStack() as stack:
            judge = options.open_judge_of(args, stack)
            read = content_verdicts if judge.name == "lexical" else turn_reader(judge)
            with options.reading(args):
                stats = collect(reader.read(args.paths), read, judge.name)
        stats.malformed = len(reader.bad)
        options.report_unreadable(reader.bad)
        console.print(render(stats))
        if args.plot:
            plot(stats, args.plot)
            console.print(f"[dim]plot written to {args.plot}[/dim]")
        return EXIT_OK
