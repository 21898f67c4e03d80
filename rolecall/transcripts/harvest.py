"""Harvest: a folder of transcripts becomes a clean training dataset, in one streaming pass.

Each conversation is read line by line, held to the quality floor, scrubbed of secrets,
deduplicated, assigned to a split by its group, and written in the chosen format. Nothing
is dropped silently: every conversation not written is counted by reason (and written with
its ``filter_reason`` under ``--keep-rejected``), and every unreadable line is reported
with its file and line. Memory stays flat: only hashes and MinHash band keys are kept.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rolecall._secrets import scrub
from rolecall.errors import RolecallError, SpecError
from rolecall.transcripts.card import write_card
from rolecall.transcripts.content import answers
from rolecall.transcripts.dedup import Deduplicator
from rolecall.transcripts.formats import Format, Kept, Sink
from rolecall.transcripts.perspective import Chat, chat_for
from rolecall.transcripts.quality import TurnReader, TurnVerdicts, content_verdicts, heuristic_score
from rolecall.transcripts.record import Transcript
from rolecall.transcripts.report import HarvestOptions, HarvestReport
from rolecall.transcripts.split import group_of, split_of
from rolecall.transcripts.store import MAX_LINE_BYTES, Reader, ensure_writable, expand

_PARENT = re.compile(rb'"parent_id":\s*"([^"]+)"')


class _Sinks:
    """Output files per split, opened on first use by the format's sink; every row is scrubbed of secrets."""

    def __init__(self, out: Path, fmt: Format, *, keep_rejected: bool) -> None:
        self.out, self.fmt = out, fmt
        self._open: dict[str, Sink] = {}
        self._rejected = (out / "rejected.jsonl").open("w", encoding="utf-8") if keep_rejected else None
        self.scrubbed = 0

    def reject(self, transcript: Transcript, reason: str) -> None:
        """Keep a dropped conversation with its ``filter_reason`` (under ``--keep-rejected``)."""
        if self._rejected is None:
            return
        record = json.loads(transcript.to_json()) | {"filter_reason": reason}
        line, found = scrub(json.dumps(record, ensure_ascii=False))
        self.scrubbed += found
        self._rejected.write(line + "\n")

    def write(self, split: str, row: dict[str, Any]) -> None:
        if split not in self._open:
            self._open[split] = self.fmt.sink(self.out / self.fmt.file_name(split), split)
        self.scrubbed += self._open[split].write(row)

    def close(self) -> list[str]:
        if self._rejected is not None:
            self._rejected.close()
        for sink in self._open.values():
            sink.close()
        return sorted(self.fmt.file_name(split) for split in self._open)


def _superseded(paths: Iterable[Path]) -> set[str]:
    """Ids of conversations that a resumed conversation continues (only the newest is harvested)."""
    parents: set[str] = set()
    for path in paths:
        try:
            with path.open("rb") as handle:
                while line := handle.readline(MAX_LINE_BYTES):
                    if b'"parent_id":"' in line or b'"parent_id": "' in line:
                        found = _PARENT.search(line)
                        if found:
                            parents.add(found.group(1).decode("utf-8", "replace"))
        except OSError:
            continue  # the reader reports the file when it cannot read it either
    return parents


def _dedup_text(chat: Chat) -> str:
    return "\n".join(turn.content for turn in chat.turns[1:])


def harvest(paths: Iterable[str | Path], out: str | Path, options: HarvestOptions | None = None) -> HarvestReport:
    """Turn the transcripts under ``paths`` into a dataset in ``out``; return what happened."""
    options = options or HarvestOptions()
    files = list(expand(paths))
    out = ensure_writable(out, "dataset")
    report = HarvestReport(format=options.format, perspective=options.perspective, loss=options.loss)
    superseded = _superseded(files)
    dedup = Deduplicator(near=options.near_dup, threshold=options.near_dup_threshold, report=report.dedup)
    reader = Reader()
    fmt = options.export
    sinks = _Sinks(out, fmt, keep_rejected=options.keep_rejected)
    seen_params: set[str] = set()
    try:
        for transcript in reader.read(files):
            report.read += 1
            try:
                chat, reason = _select(transcript, options, superseded, report)
                rows = _rows(fmt, transcript, chat, options) if reason is None and chat is not None else []
            except RolecallError:
                raise
            except Exception as exc:  # a record that read but holds what no consumer expects: costs itself only
                reader.reject(f"unusable record ({type(exc).__name__}: {exc})")
                report.dropped["unusable"] += 1
                continue
            if reason is None and chat is not None:
                reason = dedup.check(transcript.id, _dedup_text(chat))
            if reason is not None or chat is None:
                report.dropped[reason or "no_turns"] += 1
                sinks.reject(transcript, reason or "no_turns")
                continue
            report.untrained.update(chat.untrained.values())
            _write(transcript, rows, fmt, options=options, report=report, sinks=sinks, seen_params=seen_params)
    finally:
        report.files = sinks.close()
        report.secrets_scrubbed = sinks.scrubbed
    report.malformed = [str(bad) for bad in reader.bad]
    report.judge = {"name": options.judge}
    write_card(out, report, options)
    return report


def _rows(fmt: Format, transcript: Transcript, chat: Chat, options: HarvestOptions) -> list[dict[str, Any]]:
    """The dataset rows of a kept conversation, built whole before any is written."""
    return list(fmt.rows(Kept(transcript, chat, options.loss, options.draft_reader)))


def _write(
    transcript: Transcript,
    rows: list[dict[str, Any]],
    fmt: Format,
    *,
    options: HarvestOptions,
    report: HarvestReport,
    sinks: _Sinks,
    seen_params: set[str],
) -> None:
    """Write a kept conversation's rows to its split and count what it brings."""
    report.kept += 1
    split = "train"
    if options.train_share < 1:
        split = split_of(group_of(transcript), options.train_share, options.seed)
    report.conversations[split] += 1
    for agent in transcript.agents:
        report.models[agent.model or "unknown"] += agent.kind != "critic"
        key = json.dumps([agent.model, agent.params], sort_keys=True)
        if key not in seen_params and len(seen_params) < 20:
            seen_params.add(key)
            report.params.append({"model": agent.model, "params": agent.params})
    for row in rows:
        sinks.write(split, row)
        report.rows[split] += 1
        source = fmt.source_of(row)
        if source is not None:
            report.pairs[source] += 1
    for result in transcript.tool_results:
        report.tool_calls[result.name or "?"] += 1
        report.tool_errors += result.error is not None


def _once(read: TurnReader) -> TurnReader:
    """``read``, asked at most once for the conversation at hand (the floor, the score and the turns share it)."""
    memo: dict[str, TurnVerdicts] = {}

    def once(transcript: Transcript) -> TurnVerdicts:
        if transcript.id not in memo:
            memo.clear()
            memo[transcript.id] = read(transcript)
        return memo[transcript.id]

    return once


def _select(
    transcript: Transcript, options: HarvestOptions, superseded: set[str], report: HarvestReport
) -> tuple[Chat | None, str | None]:
    """The chat to train on, or the reason the conversation is dropped."""
    if transcript.id in superseded:
        return None, "superseded_by_resume"
    verdict = options.marks.get(transcript.id)
    if verdict == "drop":
        return None, "marked_drop"
    read = _once(options.turn_reader) if options.turn_reader is not None else content_verdicts
    reason = options.floor.rejection(transcript, read)
    if verdict == "keep":  # a person read it: the floor's guesses do not overrule them
        report.kept_by_mark += reason is not None
    elif reason is not None:
        return None, reason
    elif options.floor.min_score is not None:
        score = heuristic_score(transcript, read)
        report.scores.append(score)
        if score < options.floor.min_score:
            return None, "low_score"
    try:
        chat = chat_for(transcript, options.perspective)
    except SpecError:
        return None, "no_such_perspective"
    if chat is None:
        return None, "no_turns"
    if options.floor.content == "turns" and reason is None:
        chat = _untrain_off_task(transcript, chat, read(transcript))
        if not chat.trained_indexes():
            return None, "content:no_turn_on_task"
    return chat, None


def _untrain_off_task(transcript: Transcript, chat: Chat, read: TurnVerdicts) -> Chat:
    """``chat`` with the agent's turns the judge finds off task marked untrained, with the reason."""
    verdicts = [
        (message.content, read[message.index])
        for message in answers(transcript)
        if message.speaker == chat.agent.name and message.index in read
    ]
    untrained: dict[int, str] = {}
    for index, turn in enumerate(chat.turns):
        if turn.role != "assistant" or not turn.plain:
            continue
        while verdicts and verdicts[0][0] != turn.content:
            verdicts.pop(0)  # a reply the chat does not hold as it was said (none today; kept safe)
        if verdicts:
            _, reason = verdicts.pop(0)
            if reason is not None:
                untrained[index] = reason
    return dataclasses.replace(chat, untrained=untrained)
