"""JSONL storage of transcripts: append whole lines, read them back one at a time.

A line is written with a single ``write`` on a file opened for appending, then flushed to
disk, so a crash or ``kill -9`` leaves either the whole line or nothing: never half a
record. Readers stream line by line and report bad lines instead of stopping at them.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from rolecall.errors import SpecError
from rolecall.transcripts.record import SCHEMA_VERSION, Transcript

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("transcripts")
DEFAULT_FILE = DEFAULT_DIR / "rolecall.jsonl"


def ensure_writable(folder: str | Path, what: str = "output") -> Path:
    """Create ``folder`` if needed and prove it can be written, before any work is done."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise SpecError(f"{folder}: cannot write the {what} here: {exc.strerror}") from None
    return folder


def append(path: str | Path, transcript: Transcript, *, fsync: bool = True) -> None:
    """Append ``transcript`` to ``path`` as one line, creating folders as needed.

    Writers take an exclusive ``flock`` on the file, so a tail without a newline can only be
    left by a writer that died mid-write (Linux may cut a large write short on SIGKILL); it
    is cut off before the new line is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (transcript.to_json() + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _drop_torn_tail(fd, path)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _drop_torn_tail(fd: int, path: Path) -> None:
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    start = max(0, size - (1 << 20))
    while True:
        chunk = os.pread(fd, size - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0 or start == 0:
            keep = start + cut + 1
            break
        start = max(0, start - (1 << 20))
    log.warning("%s: dropping %d bytes of a record cut short by a killed writer", path, size - keep)
    os.ftruncate(fd, keep)


@dataclass
class BadLine:
    """A line that could not be read as a transcript, kept for the report."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class Reader:
    """Streams transcripts from files and folders, collecting the lines it had to skip."""

    bad: list[BadLine] = field(default_factory=list)

    def read(self, paths: Iterable[str | Path]) -> Iterator[Transcript]:
        for path in expand(paths):
            yield from self._read_file(path)

    def _read_file(self, path: Path) -> Iterator[Transcript]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                if not raw.endswith(b"\n"):
                    self._skip(path, number, "truncated line (the writer stopped mid-record)")
                    continue
                record = self._parse(path, number, raw)
                if record is not None:
                    yield record

    def _parse(self, path: Path, number: int, raw: bytes) -> Transcript | None:
        try:  # the common case, in one pass; the slow path below only explains failures
            return Transcript.model_validate_json(raw)
        except ValidationError:
            pass
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            self._skip(path, number, f"not JSON ({exc.msg} at column {exc.colno})")
            return None
        if not isinstance(data, dict):
            self._skip(path, number, "not a JSON object")
            return None
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            self._skip(path, number, f"unknown schema_version {version!r} (this rolecall reads {SCHEMA_VERSION})")
            return None
        try:
            return Transcript.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._skip(path, number, f"invalid record: {where}: {first['msg']}")
            return None

    def _skip(self, path: Path, number: int, reason: str) -> None:
        bad = BadLine(path, number, reason)
        self.bad.append(bad)
        log.warning("skipped %s", bad)


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named directly, and every ``*.jsonl`` under named folders, in a stable order."""
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            yield from sorted(path.rglob("*.jsonl"))
        elif path.is_file():
            yield path
        else:
            raise SpecError(f"{path}: no such file or folder")


def read(paths: str | Path | Iterable[str | Path]) -> Iterator[Transcript]:
    """Every readable transcript under ``paths``; bad lines are logged and skipped."""
    if isinstance(paths, str | Path):
        paths = [paths]
    return Reader().read(paths)


def find(path: str | Path, conversation_id: str | None = None) -> Transcript:
    """The transcript with ``conversation_id`` in ``path`` (its last version), or the last one."""
    found: Transcript | None = None
    for transcript in read(path):
        if conversation_id is None or transcript.id == conversation_id or transcript.id.startswith(conversation_id):
            found = transcript
    if found is None:
        what = f"no conversation {conversation_id!r}" if conversation_id else "no conversation"
        raise SpecError(f"{path}: {what}")
    return found
