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
from typing import Any

from rich.console import Console
from rich.table import Table

from rolecall.errors import SpecError
from rolecall.judges import DEFAULT_JUDGE, JUDGES, Judge, LLMJudge, open_judge, training
from rolecall.judges import gold as gold_set
from rolecall.judges.base import dialogue_of, judge_dialogue
from rolecall.judges.calibration import Agreement
from rolecall.judges.probe import user_weights_file
from rolecall.judges.recorded import read_transcripts
from rolecall.models.endpoint import open_model, resolve_endpoint
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript

EXIT_OK = 0
#: Role-plays judged per batch: enough for the model server to stay busy, few enough to stream the output.
CHUNK = 64


def add_judge_command(commands: argparse._SubParsersAction[Any]) -> None:
    judge = commands.add_parser(
        "judge",
        help="say of each saved turn whether it is on task; 'judge calibrate', 'judge train'",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    judge.add_argument("paths", nargs="+", metavar="FILE_OR_DIR | calibrate | train LABELS")
    judge.add_argument("--judge", dest="judge_name", help=f"a judge by name (default {DEFAULT_JUDGE}): {_names()}")
    judge.add_argument("--out", type=Path, help="verdicts (JSONL) for FILE_OR_DIR; the weights file for train")
    judge.add_argument("--labels", type=Path, help="calibrate on this labelled set (JSONL) instead of the gold set")
    judge.add_argument("--json", action="store_true", help="calibrate: print the table as JSON")
    judge.add_argument("--quiet", action="store_true", help="no summary")
    judge.add_argument("--model", help="the llm judge's model (env ROLECALL_MODEL)")
    judge.add_argument("--base-url", help="the llm judge's OpenAI-compatible endpoint (env OPENAI_BASE_URL)")


def _names() -> str:
    return ", ".join(JUDGES.members())


def open_judges(name: str, stack: ExitStack, *, base_url: str | None = None, model: str | None = None) -> Judge:
    """The judge called ``name``, open for as long as ``stack`` (the llm judge with the endpoint of the options)."""
    chat = None
    if JUDGES.get(name) is LLMJudge:
        chat = stack.enter_context(open_model(resolve_endpoint(base_url=base_url, model=model)))
    return stack.enter_context(open_judge(name, model=chat))


def _open(args: argparse.Namespace, name: str, stack: ExitStack) -> Judge:
    return open_judges(name, stack, base_url=args.base_url, model=args.model)


def cmd_judge(args: argparse.Namespace, console: Console) -> int:
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
    name = args.judge_name or DEFAULT_JUDGE
    reader = store.Reader()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    counts = {"turns": 0, "conversations": 0, "on_task": 0}
    started = time.perf_counter()
    with ExitStack() as stack, args.out.open("w", encoding="utf-8") as out:
        judge = _open(args, name, stack)

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
        for transcript in reader.read(args.paths):
            pending.append(transcript)
            if len(pending) >= CHUNK:
                flush(pending)
        flush(pending)
    for bad in reader.bad[:20]:
        console.print(f"[yellow]skipped {bad}[/yellow]")
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
    names = [args.judge_name] if args.judge_name else [name for name in JUDGES.members() if name != "llm"]
    rows: dict[str, dict[str, float | int]] = {}
    for name in names:
        with ExitStack() as stack:
            started = time.perf_counter()
            agreement = calibration(_open(args, name, stack), test)
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
