"""JSONL storage of transcripts: append whole lines, read them back one at a time.

A line is written with a single ``write`` on a file opened for appending, then flushed to
disk, so a crash or ``kill -9`` leaves either the whole line or nothing: never half a
record. Readers stream line by line and report bad lines instead of stopping at them.

A long read can be watched: a :class:`Reader` given ``on_progress`` (or any reader working
inside a :func:`watching` block, such as the one a harvest makes for itself) reports how
many bytes of how many it has read after each transcript, which is all a progress bar needs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from rolecall._secrets import clean
from rolecall.errors import SpecError, shorten
from rolecall.transcripts.record import READABLE_VERSIONS, Transcript

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
    data = (clean(transcript.to_json()) + "\n").encode()
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


#: The longest transcript line read (a conversation of thousands of long turns fits); longer lines are skipped.
MAX_LINE_BYTES = 64 << 20


@dataclass
class BadLine:
    """A line (or a whole file, line 0) that could not be read as a transcript, kept for the report."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ReadProgress:
    """How far one :meth:`Reader.read` has come: bytes of all its files, transcripts and files so far."""

    bytes_read: int
    bytes_total: int
    transcripts: int
    files_read: int
    files_total: int


#: Told how far a read has come, after each transcript and at the end of each file.
ProgressCallback = Callable[[ReadProgress], None]

_WATCHER: ContextVar[ProgressCallback | None] = ContextVar("rolecall_read_progress", default=None)


@contextmanager
def watching(callback: ProgressCallback) -> Iterator[None]:
    """Every :class:`Reader` without a callback of its own reports to ``callback`` inside the block.

    This reaches the readers that library calls make for themselves (a harvest's, say), so the
    caller can draw one progress bar without threading a callback through every signature.
    """
    token = _WATCHER.set(callback)
    try:
        yield
    finally:
        _WATCHER.reset(token)


@dataclass
class Reader:
    """Streams transcripts from files and folders, collecting the lines it had to skip.

    Total over its input: any bytes, any JSON, files that vanish or change while read. A
    bad line is skipped and recorded in :attr:`bad`; every other line is still read.
    :attr:`where` names the file and line of the transcript yielded last. ``on_progress``
    (or the callback of an enclosing :func:`watching` block) is told how far each read has come.
    """

    bad: list[BadLine] = field(default_factory=list)
    where: tuple[Path, int] = (Path(), 0)
    on_progress: ProgressCallback | None = None
    _offset: int = field(default=0, init=False, repr=False)  # bytes read of the file at hand

    def read(self, paths: Iterable[str | Path]) -> Iterator[Transcript]:
        files = list(expand(paths))  # every path checked before the first line is read
        progress = self.on_progress or _WATCHER.get()
        if progress is None:
            for path in files:
                yield from self._read_file(path)
            return
        yield from self._read_watched(files, progress)

    def _read_watched(self, files: list[Path], progress: ProgressCallback) -> Iterator[Transcript]:
        total = sum(_size(path) for path in files)
        done = count = 0
        for number, path in enumerate(files, 1):
            for transcript in self._read_file(path):
                count += 1
                progress(ReadProgress(min(done + self._offset, total), total, count, number - 1, len(files)))
                yield transcript
            done += _size(path)
            progress(ReadProgress(min(done, total), total, count, number, len(files)))

    def reject(self, reason: str) -> None:
        """Report the transcript yielded last as unusable (it read, but a consumer could not use it)."""
        self._skip(*self.where, reason)

    def _read_file(self, path: Path) -> Iterator[Transcript]:
        self._offset = 0
        try:
            handle = path.open("rb")
        except OSError as exc:
            self._skip(path, 0, f"cannot read: {exc.strerror or exc}")
            return
        with handle:
            number = 0
            while True:
                try:
                    raw = handle.readline(MAX_LINE_BYTES + 1)
                except OSError as exc:
                    self._skip(path, number + 1, f"cannot read: {exc.strerror or exc}")
                    return
                if not raw:
                    return
                number += 1
                self._offset += len(raw)
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    self._skip(path, number, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                    _skip_rest_of_line(handle)
                    continue
                if not raw.strip():
                    continue
                if not raw.endswith(b"\n"):
                    self._skip(path, number, "truncated line (the writer stopped mid-record)")
                    continue
                record = self._parse(path, number, raw)
                if record is not None:
                    self.where = (path, number)
                    yield record

    def _parse(self, path: Path, number: int, raw: bytes) -> Transcript | None:
        try:  # the common case, in one pass; the slow path below only explains failures
            return Transcript.model_validate_json(raw)
        except (ValidationError, ValueError, RecursionError):
            pass
        try:
            data = json.loads(raw)
        except UnicodeDecodeError:
            self._skip(path, number, "not UTF-8 text")
            return None
        except json.JSONDecodeError as exc:
            self._skip(path, number, f"not JSON ({exc.msg} at column {exc.colno})")
            return None
        except RecursionError:
            self._skip(path, number, "JSON nested too deeply")
            return None
        except ValueError as exc:  # an integer of thousands of digits
            self._skip(path, number, f"not usable JSON ({exc})")
            return None
        if not isinstance(data, dict):
            self._skip(path, number, "not a JSON object")
            return None
        version = data.get("schema_version")
        if type(version) is not int or version not in READABLE_VERSIONS:
            readable = " and ".join(map(str, READABLE_VERSIONS))
            self._skip(path, number, f"unknown schema_version {shorten(version)} (this rolecall reads {readable})")
            return None
        try:
            return Transcript.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(shorten(part, 40) for part in first["loc"])
            self._skip(path, number, f"invalid record: {where}: {first['msg']}")
        except (ValueError, RecursionError) as exc:
            self._skip(path, number, f"invalid record: {type(exc).__name__}")
        return None

    def _skip(self, path: Path, number: int, reason: str) -> None:
        bad = BadLine(path, number, reason)
        self.bad.append(bad)
        log.info("skipped %s", bad)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the reader reports the file when it cannot read it either


def _skip_rest_of_line(handle: IO[bytes]) -> None:
    while True:
        chunk = handle.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named directly, and every ``*.jsonl`` file under named folders, in a stable order."""
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            yield from sorted(found for found in path.rglob("*.jsonl") if found.is_file())
        elif path.exists():
            yield path
        else:
            raise SpecError(f"{path}: no such file or folder")


def read(paths: str | Path | Iterable[str | Path]) -> Iterator[Transcript]:
    """Every readable transcript under ``paths``; bad lines are logged and skipped."""
    if isinstance(paths, str | Path):
        paths = [paths]
    return Reader().read(paths)


def find(path: str | Path, conversation_id: str | None = None, *, reader: Reader | None = None) -> Transcript:
    """The transcript with ``conversation_id`` in ``path`` (its last version), or the last one.

    ``path`` may be a file or a folder; lines that cannot be read are collected in ``reader``.
    """
    return locate(path, conversation_id, reader=reader)[0]


def locate(
    path: str | Path, conversation_id: str | None = None, *, reader: Reader | None = None
) -> tuple[Transcript, Path]:
    """Like :func:`find`, with the file the transcript was read from."""
    reader = reader or Reader()
    found: tuple[Transcript, Path] | None = None
    for transcript in reader.read([path]):
        if conversation_id is None or transcript.id == conversation_id or transcript.id.startswith(conversation_id):
            found = (transcript, reader.where[0])
    if found is None:
        what = f"no conversation {conversation_id!r}" if conversation_id else "no conversation"
        raise SpecError(f"{path}: {what}")
    return found
