"""A reviewer's verdicts on conversations and on their turns, with a note, saved beside the data.

``rolecall view --review`` appends a :class:`Mark` per click to a marks file (never to the
transcripts it reads). A conversation is marked ``keep`` or ``drop``; ``rolecall harvest
--marks FILE`` honours that: a conversation marked ``drop`` is dropped as ``marked_drop``, one
marked ``keep`` is kept whatever the quality floor says of it (deduplication still applies). A
turn (``message_index``) is marked ``on_task`` or ``off_task``: labels ``rolecall judge train``
fits the probe judge on. The last mark of a conversation, or of a turn, wins.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from rolecall._checked import Checked
from rolecall._secrets import clean
from rolecall.errors import SpecError
from rolecall.transcripts.record import utc_now

Verdict = Literal["keep", "drop", "on_task", "off_task"]
MARKS_FILE = "rolecall-marks.jsonl"
_TURN_VERDICTS = ("on_task", "off_task")


class Mark(Checked):
    """One verdict on one conversation (keep, drop) or on one of its turns (on_task, off_task)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    verdict: Verdict
    note: str = Field(default="", max_length=4000)
    message_index: int | None = Field(default=None, ge=0)  # the turn marked (None: the conversation)
    at: str = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _verdict_fits(self) -> Mark:
        if (self.message_index is None) == (self.verdict in _TURN_VERDICTS):
            raise ValueError("a conversation is marked keep or drop, a turn (message_index) on_task or off_task")
        return self


def marks_beside(data: Path) -> Path:
    """Where the marks of ``data`` (a folder of transcripts, or one file) are kept: next to it, apart from it."""
    return data / MARKS_FILE if data.is_dir() else data.with_name(f"{data.stem}.marks.jsonl")


def add(path: Path, mark: Mark) -> None:
    """Append ``mark`` to the marks file at ``path`` (a whole line, under a lock, as transcripts are)."""
    line = clean(json.dumps(mark.model_dump(), ensure_ascii=False)) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line)


def transcripts_of(marks: Path) -> Path:
    """The data a marks file is kept beside (the inverse of :func:`marks_beside`)."""
    if marks.name == MARKS_FILE:
        return marks.parent
    if marks.name.endswith(".marks.jsonl"):
        return marks.with_name(marks.name.removesuffix(".marks.jsonl") + ".jsonl")
    raise SpecError(f"{marks}: not a marks file ({MARKS_FILE} in a folder, or NAME.marks.jsonl beside NAME.jsonl)")


def _every(path: Path) -> list[Mark]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read marks: {exc.strerror}") from None
    found = []
    for line in text.splitlines():
        try:
            found.append(Mark.model_validate(json.loads(line)))
        except (ValueError, ValidationError, SpecError):
            continue
    return found


def read(path: Path) -> dict[str, Mark]:
    """Each conversation's last mark in the file at ``path`` (lines that are not marks are passed over)."""
    return {mark.id: mark for mark in _every(path) if mark.message_index is None}


def read_turns(path: Path) -> dict[tuple[str, int], Mark]:
    """Each turn's last mark in the file at ``path``, by (conversation id, message index)."""
    return {(mark.id, mark.message_index): mark for mark in _every(path) if mark.message_index is not None}
