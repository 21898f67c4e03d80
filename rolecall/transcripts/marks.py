"""A reviewer's verdicts on conversations: keep or drop, with a note, saved beside the data.

``rolecall view --review`` appends a :class:`Mark` per click to a marks file (never to the
transcripts it reads); ``rolecall harvest --marks FILE`` honours them: a conversation marked
``drop`` is dropped as ``marked_drop``, one marked ``keep`` is kept whatever the quality floor
says of it (deduplication still applies). The last mark of a conversation wins.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from rolecall.checked import Checked
from rolecall.errors import SpecError
from rolecall.secrets import clean
from rolecall.transcripts.record import utc_now

Verdict = Literal["keep", "drop"]
MARKS_FILE = "rolecall-marks.jsonl"


class Mark(Checked):
    """One verdict on one conversation."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    verdict: Verdict
    note: str = Field(default="", max_length=4000)
    at: str = Field(default_factory=utc_now)


def marks_beside(data: Path) -> Path:
    """Where the marks of ``data`` (a folder of transcripts, or one file) are kept: next to it, apart from it."""
    return data / MARKS_FILE if data.is_dir() else data.with_name(f"{data.stem}.marks.jsonl")


def add(path: Path, mark: Mark) -> None:
    """Append ``mark`` to the marks file at ``path`` (a whole line, under a lock, as transcripts are)."""
    line = clean(json.dumps(mark.model_dump(), ensure_ascii=False)) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line)


def read(path: Path) -> dict[str, Mark]:
    """Each conversation's last mark in the file at ``path`` (lines that are not marks are passed over)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read marks: {exc.strerror}") from None
    marks: dict[str, Mark] = {}
    for line in text.splitlines():
        try:
            mark = Mark.model_validate(json.loads(line))
        except (ValueError, ValidationError, SpecError):
            continue
        marks[mark.id] = mark
    return marks
