"""``rolecall judge``: verdicts on saved turns, a judge's calibration on the gold set, and refitting the probe.

    rolecall judge FILE_OR_DIR... [--judge NAME] --out VERDICTS.jsonl
    rolecall judge calibrate [--judge NAME] [--labels FILE]
    rolecall judge train LABELS... [--out WEIGHTS.json]

The first writes one line per accepted instructor or executor turn; a verdict recorded while
the conversation was held (by the same judge) is read back, not made again. ``calibrate``
prints accuracy, precision, recall and Cohen's kappa on the gold test split, beside a judge
that knows only each turn's source. ``train`` refits the probe's classifier.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rolecall.errors import SpecError
from rolecall.judges import DEFAULT_JUDGE, JUDGES, Judge, LLMJudge, open_judge, training
from rolecall.judges import gold as gold_set
from rolecall.judges.base import Dialogue, Verdict, dialogue_of, judge_dialogue
from rolecall.judges.calibration import Agreement
from rolecall.models.endpoint import open_model, resolve_endpoint
from rolecall.transcripts import store

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


def _open(args: argparse.Namespace, name: str, stack: ExitStack) -> Judge:
    model = None
    if JUDGES.get(name) is LLMJudge:
        model = stack.enter_context(open_model(resolve_endpoint(base_url=args.base_url, model=args.model)))
    return stack.enter_context(open_judge(name, model=model))


def cmd_judge(args: argparse.Namespace, console: Console) -> int:
    first, rest = args.paths[0], args.paths[1:]
    if first == "calibrate":
        if rest:
            raise SpecError(f"judge calibrate takes no files (given: {' '.join(rest)}); use --labels FILE")
        return _calibrate(args, console)
    if first == "train":
        if not rest:
            raise SpecError("judge train: give LABELS (a labelled JSONL file, review marks, or 'gold')")
        return _train(rest, args, console)
    if args.out is None:
        raise SpecError("judge: give --out VERDICTS.jsonl")
    return _judge_files(args, console)


def _dialogues(paths: Sequence[str], reader: store.Reader) -> Iterator[tuple[Dialogue, dict[int, Verdict]]]:
    for transcript in reader.read(paths):
        dialogue = dialogue_of(transcript)
        if dialogue is not None:
            yield dialogue, recorded_verdicts(transcript.events)


def recorded_verdicts(events: Sequence[object]) -> dict[int, Verdict]:
    """The verdicts a conversation recorded while it was held, by message index."""
    found: dict[int, Verdict] = {}
    for event in events:
        extra = getattr(event, "model_extra", None) or {}
        if getattr(event, "kind", None) == "verdict" and isinstance(extra.get("message_index"), int):
            found[extra["message_index"]] = Verdict(
                bool(extra.get("on_task")), float(extra.get("score", 0.0)), extra.get("reason"), str(extra.get("judge"))
            )
    return found


def _judge_files(args: argparse.Namespace, console: Console) -> int:
    name = args.judge_name or DEFAULT_JUDGE
    reader = store.Reader()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    turns = conversations = on_task = reused = 0
    started = time.perf_counter()
    with ExitStack() as stack, args.out.open("w", encoding="utf-8") as out:
        judge = _open(args, name, stack)
        pending: list[tuple[Dialogue, dict[int, Verdict]]] = []

        def flush() -> None:
            nonlocal turns, conversations, on_task, reused
            fresh = [dialogue for dialogue, recorded in pending if not _all_recorded(dialogue, recorded, name)]
            judged = iter(asyncio.run(judge_dialogue(judge, fresh)) if fresh else [])
            for dialogue, recorded in pending:
                verdicts = (
                    [recorded[index] for index in _indices(dialogue)]
                    if _all_recorded(dialogue, recorded, name)
                    else next(judged)
                )
                reused += len(verdicts) if _all_recorded(dialogue, recorded, name) else 0
                for index, (side, _), verdict in zip(_indices(dialogue), dialogue.turns, verdicts, strict=True):
                    line = {"conversation_id": dialogue.conversation_id, "message_index": index, "side": side}
                    out.write(json.dumps({**line, **verdict.to_dict()}, ensure_ascii=False) + "\n")
                    on_task += verdict.on_task
                turns += len(verdicts)
                conversations += 1
            pending.clear()

        for item in _dialogues(args.paths, reader):
            pending.append(item)
            if len(pending) >= CHUNK:
                flush()
        flush()
    for bad in reader.bad[:20]:
        console.print(f"[yellow]skipped {bad}[/yellow]")
    if not args.quiet:
        seconds = time.perf_counter() - started
        share = f"{on_task / turns:.0%}" if turns else "-"
        console.print(
            f"judged {turns} turns of {conversations} conversations with {name}: {on_task} on task ({share}); "
            f"{reused} read from the transcripts; {turns / seconds if seconds else 0:.1f} turns/s; "
            f"verdicts in {args.out}"
        )
    return EXIT_OK


def _indices(dialogue: Dialogue) -> list[int]:
    return list(dialogue.message_indices) or list(range(len(dialogue.turns)))


def _all_recorded(dialogue: Dialogue, recorded: dict[int, Verdict], name: str) -> bool:
    return bool(recorded) and all(index in recorded and recorded[index].judge == name for index in _indices(dialogue))


def calibration(judge: Judge, plays: Sequence[gold_set.GoldPlay]) -> Agreement:
    """``judge``'s verdicts on every labelled turn of ``plays`` against the labels."""
    verdicts = asyncio.run(judge_dialogue(judge, [play.dialogue() for play in plays]))
    labels = [turn.on_task for play in plays for turn in play.turns]
    return Agreement.of(labels, [verdict.on_task for row in verdicts for verdict in row])


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
    out = args.out or training.user_weights_file()
    report = training.train(plays, out)
    if not args.quiet:
        console.print(
            f"fitted the probe on {report.turns} labelled turns of {report.plays} role-plays "
            f"(cross-validated accuracy {report.cv_accuracy:.3f}, l2 {report.l2:g}); weights in {out}"
        )
        if args.out is None:
            console.print("[dim]the probe reads these weights from now on; delete the file to go back[/dim]")
    return EXIT_OK
