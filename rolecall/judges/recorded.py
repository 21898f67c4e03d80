"""Verdicts kept with a transcript, and a transcript's turns read by a judge for the layers below judges.

A verdict made while a conversation is held (the critic choosing by a judge, or ``judge:`` in
the settings) is saved in its events (``kind: "verdict"``); reading the transcript later by the
same judge takes those instead of judging again. :func:`turn_reader` hands the harvest and
the floor, which know verdicts but not judges, a judge's reading of each transcript.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rolecall.judges.base import Dialogue, Judge, Verdict, dialogue_of, in_context, is_done, judge_dialogue
from rolecall.transcripts.quality import DraftReader, TurnReader, TurnVerdicts
from rolecall.transcripts.record import Event, Transcript

VERDICT_EVENT = "verdict"


def verdict_event(speaker: str, message_index: int, side: str, verdict: Verdict) -> dict[str, Any]:
    """The fields of the event (``kind: "verdict"``) that records ``verdict`` of the message at ``message_index``."""
    return {"speaker": speaker, "message_index": message_index, "side": side, **verdict.to_dict()}


def recorded_verdicts(events: Sequence[Event], judge: str | None = None) -> dict[int, Verdict]:
    """The verdicts the transcript recorded (by ``judge``, when given), by message index; the latest wins."""
    found: dict[int, Verdict] = {}
    for event in events:
        extra = event.model_extra or {}
        index = extra.get("message_index")
        if event.kind != VERDICT_EVENT or not isinstance(index, int) or (judge and extra.get("judge") != judge):
            continue
        try:
            found[index] = Verdict(
                bool(extra["on_task"]), float(extra["score"]), extra.get("reason"), str(extra["judge"])
            )
        except (KeyError, TypeError, ValueError):
            continue  # a damaged event is not a verdict: the turn is judged again
    return found


async def read_transcripts(judge: Judge, transcripts: Sequence[Transcript]) -> list[dict[int, Verdict]]:
    """Each transcript's instructor and executor turns by message index, as ``judge`` reads them: the verdicts it
    recorded when they cover every turn, else all judged now in one batch."""
    results: list[dict[int, Verdict]] = [{} for _ in transcripts]
    pending = []
    for position, transcript in enumerate(transcripts):
        dialogue = dialogue_of(transcript)
        if dialogue is None:
            continue
        recorded = recorded_verdicts(transcript.events, judge.name)
        if all(index in recorded for index in dialogue.message_indices):
            results[position] = {index: recorded[index] for index in dialogue.message_indices}
        else:
            pending.append((position, dialogue))
    judged = await judge_dialogue(judge, [dialogue for _, dialogue in pending]) if pending else []
    for (position, dialogue), verdicts in zip(pending, judged, strict=True):
        results[position] = dict(zip(dialogue.message_indices, verdicts, strict=True))
    return results


def turn_reader(judge: Judge) -> TurnReader:
    """``judge``'s reading of one transcript at a time, as the floor and the harvest take it."""

    def read(transcript: Transcript) -> TurnVerdicts:
        verdicts = asyncio.run(read_transcripts(judge, [transcript]))[0]
        return {index: None if v.on_task else v.reason or "off_task" for index, v in verdicts.items()}

    return read


def draft_reader(judge: Judge) -> DraftReader:
    """``judge``'s reading of drafts, each in the context of the message it was a draft of."""

    def read(transcript: Transcript, drafts: Sequence[tuple[int, str]]) -> list[bool]:
        dialogue = dialogue_of(transcript)
        if dialogue is None:
            return [False] * len(drafts)
        where = {index: position for position, index in enumerate(dialogue.message_indices)}
        turns = []
        for index, text in drafts:
            position = where.get(index, len(dialogue.turns))
            side = dialogue.turns[position][0] if position < len(dialogue.turns) else "assistant"
            before = Dialogue(dialogue.task, [*dialogue.turns[:position], (side, text)], roles=dialogue.roles,
                              subtasks=dialogue.subtasks, done_token=dialogue.done_token)  # fmt: skip
            turns.append(list(in_context(before))[-1])
        asked = [turn for turn in turns if not is_done(turn, dialogue.done_token)]
        verdicts = iter(asyncio.run(judge.verdicts(asked)) if asked else [])
        return [False if is_done(turn, dialogue.done_token) else next(verdicts).on_task for turn in turns]

    return read
