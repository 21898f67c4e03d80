"""What the viewer knows about the data without holding it: one small entry per line, and where it is.

A :class:`Catalog` reads each ``*.jsonl`` file once, line by line, keeping for each
conversation the facts the list filters on (status, termination, models, roles, guard
verdicts, tool errors, turns) and the byte range of its line; a page reads that one line
again when it is opened. Lines that are not transcripts (a harvested dataset's rows) are
listed as rows. :meth:`Catalog.refresh` reads only what was appended since (a running
batch), and starts over on a file that shrank.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from rolecall.transcripts.marks import MARKS_FILE
from rolecall.transcripts.record import HUMAN_MODEL, READABLE_VERSIONS, Transcript
from rolecall.transcripts.stats import CorpusStats
from rolecall.transcripts.store import MAX_LINE_BYTES

Kind = Literal["conversation", "row"]


@dataclass(frozen=True)
class Entry:
    """One listed line: where it is and what the filters read."""

    key: str  # the conversation id, or "FILE_NUMBER-LINE" for a dataset row
    kind: Kind
    file: int
    offset: int
    length: int
    line: int
    title: str
    status: str = ""
    reason: str = ""
    models: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    turns: int = 0
    tokens: int = 0
    guards: tuple[str, ...] = ()  # "guard:action", once per verdict
    tool_calls: tuple[str, ...] = ()  # tool names, once per call
    tool_errors: int = 0
    human: bool = False
    started_at: str = ""


@dataclass
class Filters:
    """What the list is narrowed to; empty fields do not narrow."""

    status: str = ""
    reason: str = ""
    model: str = ""
    role: str = ""
    guard: str = ""  # a guard's name, or "any"
    tool_errors: bool = False
    min_turns: int | None = None
    max_turns: int | None = None
    text: str = ""
    mark: str = ""  # "keep", "drop" or "none"

    def admits(self, entry: Entry, mark: str | None) -> bool:
        """Whether ``entry`` (with reviewer mark ``mark``) passes every filter but the free text."""
        checks = (
            not self.status or entry.status == self.status,
            not self.reason or entry.reason == self.reason,
            not self.model or self.model in entry.models,
            not self.role or any(self.role.lower() in role.lower() for role in entry.roles),
            not self.guard or any(self.guard in ("any", verdict.split(":")[0]) for verdict in entry.guards),
            not self.tool_errors or entry.tool_errors > 0,
            self.min_turns is None or entry.turns >= self.min_turns,
            self.max_turns is None or entry.turns <= self.max_turns,
            not self.mark or (mark or "none") == self.mark,
        )
        return all(checks)


def summarize(transcript: Transcript, *, file: int, offset: int, length: int, line: int) -> Entry:
    """The catalogue entry of a transcript read from ``file`` at ``offset``."""
    spoken = transcript.spoken
    guards = tuple(
        f"{(event.model_extra or {}).get('guard')}:{(event.model_extra or {}).get('action')}"
        for event in transcript.events
        if event.kind == "guard"
    )
    results = transcript.tool_results
    return Entry(
        key=transcript.id, kind="conversation", file=file, offset=offset, length=length, line=line,
        title=transcript.task.original[:200], status=transcript.status,
        reason=transcript.termination.reason if transcript.termination else "unfinished",
        models=tuple(sorted({message.model or "unknown" for message in spoken})),
        roles=tuple(agent.role for agent in transcript.agents if agent.kind in ("user", "assistant", "member")),
        turns=transcript.messages[-1].turn if transcript.messages else 0,
        tokens=transcript.usage.prompt_tokens + transcript.usage.completion_tokens,
        guards=guards, tool_calls=tuple(result.name or "?" for result in results),
        tool_errors=sum(result.error is not None for result in results),
        human=any(message.model == HUMAN_MODEL for message in spoken), started_at=transcript.created_at,
    )  # fmt: skip


def row_title(row: dict[str, Any]) -> str:
    """A dataset row's first words: its first user turn, prompt or instruction."""
    for key in ("messages", "conversations", "prompt"):
        turns = row.get(key)
        if isinstance(turns, list):
            for turn in turns:
                if isinstance(turn, dict) and turn.get("role", turn.get("from")) in ("user", "human"):
                    return str(turn.get("content", turn.get("value", "")))[:200]
    for key in ("instruction", "prompt", "text"):
        if isinstance(row.get(key), str):
            return str(row[key])[:200]
    return json.dumps(row, ensure_ascii=False)[:200]


@dataclass
class _File:
    path: Path
    read_to: int = 0  # bytes indexed so far (always at a line's end)
    lines: int = 0


@dataclass
class Catalog:
    """The entries of every line under ``paths``, refreshed on demand (thread-safe)."""

    paths: list[Path]
    entries: list[Entry] = field(default_factory=list)
    unreadable: int = 0
    #: Bumped whenever entries change, so a page can tell it is out of date.
    version: int = 0
    _files: list[_File] = field(default_factory=list)
    _where: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def files(self) -> Iterator[Path]:
        """The data files under :attr:`paths` (marks files and the viewer's own are not data)."""
        for path in self.paths:
            found = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
            yield from (file for file in found if file.is_file() and not _is_marks(file))

    def refresh(self) -> int:
        """Read what is new under :attr:`paths`; return how many entries were added or replaced."""
        with self._lock:
            known = {entry.path: number for number, entry in enumerate(self._files)}
            changed = 0
            for path in self.files():
                if path not in known:
                    known[path] = len(self._files)
                    self._files.append(_File(path))
                changed += self._read_new(known[path])
            if changed:
                self.version += 1
            return changed

    def _read_new(self, number: int) -> int:
        file = self._files[number]
        try:
            size = file.path.stat().st_size
            if size < file.read_to:  # rewritten: read it again from the start
                self._forget(number)
                file.read_to = file.lines = 0
            if size == file.read_to:
                return 0
            with file.path.open("rb") as handle:
                handle.seek(file.read_to)
                return self._index(number, handle)
        except OSError:
            return 0

    def _index(self, number: int, handle: Any) -> int:
        file, added = self._files[number], 0
        while True:
            offset = handle.tell()
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw.endswith(b"\n"):  # the end, or a line still being written: read it next time
                if len(raw) > MAX_LINE_BYTES:
                    self.unreadable += 1
                    handle.readline()
                    file.read_to, file.lines = handle.tell(), file.lines + 1
                    continue
                return added
            file.read_to, file.lines = handle.tell(), file.lines + 1
            entry = _entry(raw, file=number, offset=offset, line=file.lines)
            if entry is None:
                self.unreadable += raw.strip() != b""
                continue
            if entry.key in self._where:
                self.entries[self._where[entry.key]] = entry  # a later version of the same conversation
            else:
                self._where[entry.key] = len(self.entries)
                self.entries.append(entry)
            added += 1

    def _forget(self, number: int) -> None:
        self.entries = [entry for entry in self.entries if entry.file != number]
        self._where = {entry.key: index for index, entry in enumerate(self.entries)}

    def snapshot(self) -> list[Entry]:
        """Every entry as of now (the refresher may add more meanwhile)."""
        with self._lock:
            return list(self.entries)

    def find(self, key: str) -> Entry | None:
        with self._lock:
            where = self._where.get(key)
            return self.entries[where] if where is not None else None

    def raw(self, entry: Entry) -> bytes:
        """The line of ``entry``, read again from its file."""
        with self._files[entry.file].path.open("rb") as handle:
            handle.seek(entry.offset)
            return handle.read(entry.length)

    def load(self, entry: Entry) -> Transcript | dict[str, Any]:
        """The transcript (or dataset row) of ``entry``."""
        raw = self.raw(entry)
        if entry.kind == "conversation":
            return Transcript.model_validate_json(raw)
        data: dict[str, Any] = json.loads(raw)
        return data

    def source(self, entry: Entry) -> str:
        return f"{self._files[entry.file].path}:{entry.line}"

    def select(self, filters: Filters, marks: dict[str, str]) -> list[Entry]:
        """The entries that pass ``filters``, newest first; free text is searched in each line's bytes."""
        with self._lock:
            chosen = [entry for entry in reversed(self.entries) if filters.admits(entry, marks.get(entry.key))]
        if not filters.text:
            return chosen
        needle = filters.text.lower()
        return [entry for entry in chosen if needle in entry.title.lower() or needle in _text_of(self.raw(entry))]

    def stats(self, entries: Iterable[Entry]) -> CorpusStats:
        """The figures of ``rolecall stats`` over ``entries``, from the catalogue alone."""
        stats = CorpusStats()
        for entry in entries:
            if entry.kind != "conversation":
                continue
            stats.conversations += 1
            stats.failed += entry.status == "failed"
            stats.turns.append(entry.turns)
            stats.tokens.append(entry.tokens)
            stats.reasons[entry.reason] += 1
            stats.guards.update(entry.guards)
            stats.models.update(entry.models)
            stats.tool_calls.update(Counter(entry.tool_calls))
        stats.malformed = self.unreadable
        return stats


def _is_marks(path: Path) -> bool:
    return path.name == MARKS_FILE or path.name.endswith(".marks.jsonl")


def _text_of(raw: bytes) -> str:
    """A line as searchable text (JSON escapes undone, so quotes and accents match)."""
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False).lower()
    except ValueError:
        return raw.decode("utf-8", "replace").lower()


def _entry(raw: bytes, *, file: int, offset: int, line: int) -> Entry | None:
    """The entry of one line: a transcript, a dataset row, or ``None`` when it is neither."""
    try:
        return summarize(Transcript.model_validate_json(raw), file=file, offset=offset, length=len(raw), line=line)
    except (ValidationError, ValueError, RecursionError):
        pass
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") in READABLE_VERSIONS:
        return None  # not an object, or a transcript that does not validate
    return Entry(
        key=f"{file}-{line}", kind="row", file=file, offset=offset, length=len(raw), line=line, title=row_title(data)
    )
