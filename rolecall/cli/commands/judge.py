"""``rolecall judge``: verdicts on saved turns, a judge's calibration on the gold set, and refitting the probe.

    rolecall judge FILE_OR_DIR... [--judge NAME] --out VERDICTS.jsonl
    rolecall judge calibrate [--judge NAME] [--labels FILE]
    rolecall judge train LABELS... [--out WEIGHTS.json]

The first writes one line per accepted instructor or executor turn; verdicts recorded while
the conversation was held (by the same judge) are read back, not made again. ``calibrate``
prints accuracy, precision, recall and Cohen's kappa on the gold test split, beside a judge
that knows only each turn's source. ``train`` refits the probe's classifier.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rolecall.cli import options
from rolecall.cli.command import EXIT_OK, Command, register_command
from rolecall.errors import SpecError
from rolecall.judges import DEFAULT_JUDGE, JUDGES, Judge, training
from rolecall.judges import gold as gold_set
from rolecall.judges.base import dialogue_of, judge_dialogue
from rolecall.judges.calibration import Agreement
from rolecall.judges.probe import user_weights_file
from rolecall.judges.recorded import read_transcripts
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript

#: Role-plays judged per batch: enough for the model server to stay busy, few enough to stream the output.
CHUNK = 64


@register_command
class JudgeCommand(Command):
    """Say of each saved turn whether it is on task; 'judge calibrate', 'judge train'.

    rolecall judge FILE_OR_DIR... [--judge NAME] --out VERDICTS.jsonl
    rolecall judge calibrate [--judge NAME] [--labels FILE]
    rolecall judge train LABELS... [--out WEIGHTS.json]
    """

    name = "judge"
    quiet_help = "no summary or progress bar"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR | calibrate | train LABELS")
        options.add_judge_option(parser, "says which turns are on task")
        parser.add_argument("--out", type=Path, help="verdicts (JSONL) for FILE_OR_DIR; the weights file for train")
        parser.add_argument(
            "--labels", type=Path, help="calibrate on this labelled set (JSONL) instead of the gold set"
        )
        parser.add_argument("--json", action="store_true", help="calibrate: print the table as JSON")
        options.add_endpoint_options(parser, of="the llm judge's")

    def run(self, args: argparse.Namespace, console: Console) -> int:
        first, rest = args.paths[0], args.paths[1:]
        if first == "calibrate":
            if rest:
                raise SpecError(f"judge calibrate takes no files (given: {' '.join(rest)}); use --labels FILE")
            return _calibrate(args, console)
        if first == "train":
            if not rest:
                raise SpecError(
                    "judge train: give LABELS (a labelled JSONL file, a marks file of view --review, or 'gold')"
                )
            return _train(rest, args, console)
        if args.out is None:
            raise SpecError("judge: give --out VERDICTS.jsonl")
        return _judge_files(args, console)


def _judge_files(args: argparse.Namespace, console: Console) -> int:
    name = args.judge or DEFAULT_JUDGE
    reader = store.Reader()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts = {"turns": 0, "conversations": 0, "on_task": 0}
    started = time.perf_counter()
    with ExitStack() as stack, args.out.open("w", encoding="utf-8") as out:
        judge = options.open_judge_of(args, stack)

        def flush(transcripts: list[Transcript]) -> None:
            for transcript, verdicts in zip(
                transcripts, asyncio.run(read_transcripts(judge, transcripts)), strict=True
            ):
                sides = dict(zip(*_sides(transcript), strict=True))
                for index, verdict in sorted(verdicts.items()):
                    line = {"conversation_id": transcript.id, "message_index": index, "side": sides[index]}
                    out.write(json.dumps({**line, **verdict.to_dict()}, ensure_ascii=False) + "\n")
                    counts["on_task"] += verdict.on_task
                counts["turns"] += len(verdicts)
                counts["conversations"] += bool(verdicts)
            transcripts.clear()

        pending: list[Transcript] = []
        with options.reading(args, "judging"):
            for transcript in reader.read(args.paths):
                pending.append(transcript)
                if len(pending) >= CHUNK:
                    flush(pending)
            flush(pending)
    options.report_unreadable(reader.bad)
    if not args.quiet:
        turns, seconds = counts["turns"], time.perf_counter() - started
        share = f"{counts['on_task'] / turns:.0%}" if turns else "-"
        console.print(
            f"judged {turns} turns of {counts['conversations']} conversations with {name}: {counts['on_task']} on "
            f"task ({share}); {turns / seconds if seconds else 0:.1f} turns/s; verdicts in {args.out}"
        )
    return EXIT_OK


def _sides(transcript: Transcript) -> tuple[list[int], list[str]]:
    dialogue = dialogue_of(transcript)
    return (list(dialogue.message_indices), [side for side, _ in dialogue.turns]) if dialogue else ([], [])


def calibration(judge: Judge, plays: Sequence[gold_set.GoldPlay]) -> Agreement:
    """``judge``'s verdicts on every labelled turn of ``plays`` against the labels."""
    verdicts = asyncio.run(judge_dialogue(judge, [play.dialogue() for play in plays]))
    pairs = [
        (turn.on_task, verdict.on_task)
        for play, row in zip(plays, verdicts, strict=True)
        for turn, verdict in zip(play.turns, row, strict=True)
        if turn.on_task is not None
    ]
    return Agreement.of([label for label, _ in pairs], [called for _, called in pairs])


def _calibrate(args: argparse.Namespace, console: Console) -> int:
    plays = gold_set.read(args.labels)
    test = gold_set.split(plays, "test") if args.labels is None else plays
    if not test:
        raise SpecError("calibrate: the labelled set has no test role-plays")
    names = [args.judge] if args.judge else [name for name in JUDGES.members() if name != "llm"]
    rows: dict[str, dict[str, float | int]] = {}
    for name in names:
        with ExitStack() as stack:
            started = time.perf_counter()
            agreement = calibration(options.open_judge_of(args, stack, name=name), test)
            rows[name] = {
                **agreement.to_dict(),
                "turns_per_s": round(agreement.turns / (time.perf_counter() - started), 1),
            }
    rows["source only"] = training.source_baseline(gold_set.split(plays, "train"), test).to_dict()
    if args.json:
        console.print_json(json.dumps({"split": "test", "gold": gold_set.VERSION, "judges": rows}))
        return EXIT_OK
    table = Table(title=f"on task, gold {gold_set.VERSION} test split ({rows[names[0]]['turns']} turns)")
    for column in ("judge", "accuracy", "precision", "recall", "kappa", "turns/s"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    for name, row in rows.items():
        speed = row.get("turns_per_s")
        table.add_row(
            name, *(f"{row[key]:.3f}" for key in ("accuracy", "precision", "recall", "kappa")),
            f"{speed:.1f}" if speed else "-",
        )  # fmt: skip
    console.print(table)
    return EXIT_OK


def _train(labels: Sequence[str], args: argparse.Namespace, console: Console) -> int:
    plays = training.labelled_plays(labels)
    out = args.out or user_weights_file()
    report = training.train(plays, out)
    if not args.quiet:
        console.print(
            f"fitted the probe on {report.turns} labelled turns of {report.plays} role-plays "
            f"(cross-validated accuracy {report.cv_accuracy:.3f}, l2 {report.l2:g}); weights in {out}"
        )
        if args.out is None:
            console.print("[dim]the probe reads these weights from now on; delete the file to go back[/dim]")
    return EXIT_OK
