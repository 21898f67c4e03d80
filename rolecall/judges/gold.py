"""The gold set: role-plays whose every turn a person labelled on task or off by reading it.

It ships as package data (``gold/v1.jsonl``, one role-play per line) so that the tests,
``rolecall judge calibrate`` and ``rolecall judge train`` read the same turns on any machine.
Each role-play carries its split (``train`` or ``test``, by whole role-play, so no test turn's
dialogue was seen in training) and each turn its source: ``written`` (the way a strong model
writes), ``scripted`` (rolecall's scripted fixtures) or ``embedded`` (SmolLM2-135M). How it
was made and labelled is in ``docs/judges.md``; the readings behind each label are in
``bench/gold/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

from rolecall.errors import SpecError
from rolecall.judges.base import Dialogue, Side
from rolecall.transcripts.record import DONE_TOKEN

VERSION = "v1"
Split = Literal["train", "test"]
SOURCES = ("written", "scripted", "embedded")


@dataclass(frozen=True)
class GoldTurn:
    side: Side
    text: str
    on_task: bool | None  # None: context only, not labelled (a turn a reviewer did not mark)
    source: str


@dataclass(frozen=True)
class GoldPlay:
    """One labelled role-play."""

    id: str
    split: Split
    task: str
    user_role: str
    assistant_role: str
    turns: Sequence[GoldTurn]
    subtasks: Sequence[str] = ()

    def dialogue(self) -> Dialogue:
        return Dialogue(
            self.task, [(turn.side, turn.text) for turn in self.turns], roles=(self.user_role, self.assistant_role),
            subtasks=self.subtasks, conversation_id=self.id,
        )  # fmt: skip


def _play(line: str, where: str) -> GoldPlay:
    try:
        record = json.loads(line)
        turns = [
            GoldTurn(turn["side"], str(turn["text"]), bool(turn["on_task"]), str(turn["source"]))
            for turn in record["turns"]
        ]
        if record["split"] not in ("train", "test") or any(turn.side not in ("user", "assistant") for turn in turns):
            raise ValueError("split must be train or test and each side user or assistant")
        return GoldPlay(
            str(record["id"]), record["split"], str(record["task"]), str(record["user_role"]),
            str(record["assistant_role"]), turns, tuple(record.get("subtasks") or ()),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"{where}: not a gold role-play ({exc})") from None


def read(path: Path | None = None) -> list[GoldPlay]:
    """The labelled role-plays of ``path`` (JSON lines), or of the shipped gold set."""
    source = path if path is not None else files("rolecall.judges") / "gold" / f"{VERSION}.jsonl"
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read labels {source}: {exc.strerror or exc}") from None
    return [_play(line, f"{source}:{number}") for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def split(plays: Iterable[GoldPlay], which: Split) -> list[GoldPlay]:
    return [play for play in plays if play.split == which]


def write(plays: Iterable[GoldPlay], path: Path) -> None:
    """``plays`` as the JSON lines :func:`read` takes."""
    lines = []
    for play in plays:
        record = {
            "id": play.id, "split": play.split, "task": play.task, "user_role": play.user_role,
            "assistant_role": play.assistant_role, "subtasks": list(play.subtasks),
            "turns": [{"side": t.side, "text": t.text, "on_task": t.on_task, "source": t.source} for t in play.turns],
        }  # fmt: skip
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def labelled(plays: Sequence[GoldPlay], done_token: str = DONE_TOKEN) -> Iterator[tuple[GoldPlay, int, GoldTurn]]:
    """Every labelled turn a judge reads (done turns are decided by rule and left out), with its role-play."""
    for play in plays:
        for index, turn in enumerate(play.turns):
            if turn.on_task is not None and not (turn.side == "user" and done_token in turn.text):
                yield play, index, turn
