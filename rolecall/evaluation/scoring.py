"""Scoring an evaluation: how many turns were on task, first drafts and final turns, over the same slots.

Each role-play of a suite gives each side ``max_turns`` slots, whatever happens in it, so
every configuration is divided by the same turns. A slot holds the turn written there:

* its **first draft** is what the model wrote before any re-ask: the text a guard rejected
  (kept in the guard event), the reply a critic sent back, or the critic's first candidate;
  when nothing objected, the accepted reply itself;
* its **final turn** is the reply that entered the transcript (a slot whose drafts a guard
  gave up on has none, and counts as off task).

Both are read by a judge (:mod:`rolecall.judges`; ``rolecall eval --judge NAME``, the probe by
default), all of a suite's turns in one batch; a done turn is on task once an earlier final
solution was. Slots left after the conversation ended count as on task when it ended in success
(done, or the graph complete, after a solution did real work) and as off task otherwise, named
by the ending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rolecall.judges.base import DONE_WITHOUT_WORK, Dialogue, Judge, TurnInContext, in_context, is_done
from rolecall.transcripts.content import Reading, answers
from rolecall.transcripts.record import SUCCESSFUL_ENDINGS, Transcript

SIDES = {"user": "instructor", "assistant": "executor"}


@dataclass
class SideScore:
    """One side's slots: how many were on task, first drafts and final turns, and why the others were not."""

    slots: int = 0
    written: int = 0  # slots with a turn written in them
    first_on: int = 0
    final_on: int = 0
    first_off: Counter[str] = field(default_factory=Counter)
    final_off: Counter[str] = field(default_factory=Counter)

    def add(self, first: str | None, final: str | None) -> None:
        """One slot: the reasons its first draft and its final turn were off task (None when on task)."""
        self.slots += 1
        self.first_on += first is None
        self.final_on += final is None
        if first is not None:
            self.first_off[first] += 1
        if final is not None:
            self.final_off[final] += 1

    def share(self, which: str) -> float:
        on = self.first_on if which == "first" else self.final_on
        return on / self.slots if self.slots else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "written": self.written,
            "first_draft_on_task": self.first_on,
            "final_on_task": self.final_on,
            "first_draft_share": round(self.share("first"), 4),
            "final_share": round(self.share("final"), 4),
            "first_draft_off": dict(self.first_off.most_common()),
            "final_off": dict(self.final_off.most_common()),
        }


@dataclass
class Scorecard:
    """What one configuration scored over a suite."""

    label: str
    judge: str = "lexical"  # the judge that read the turns
    sides: dict[str, SideScore] = field(default_factory=lambda: {name: SideScore() for name in SIDES.values()})
    conversations: int = 0
    failed: int = 0  # conversations the run itself failed (an endpoint down, a budget spent)
    successes: int = 0
    endings: Counter[str] = field(default_factory=Counter)
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    minutes: float = 0.0  # wall clock of the runs that held the suite
    conversation_minutes: float = 0.0  # the conversations' own durations, summed (whatever the concurrency)

    @property
    def turns(self) -> int:
        return sum(side.written for side in self.sides.values())

    @property
    def reasks_per_turn(self) -> float:
        return self.reasks / self.turns if self.turns else 0.0

    def share(self, which: str) -> float:
        """The share of all slots, both sides, on task (``which``: "first" or "final")."""
        slots = sum(side.slots for side in self.sides.values())
        on = sum(side.first_on if which == "first" else side.final_on for side in self.sides.values())
        return on / slots if slots else 0.0

    def add(self, transcript: Transcript, max_turns: int, slots: Sequence[Slot]) -> None:
        """Score one conversation of the suite, held with ``max_turns`` turns per side; ``slots`` are its turns
        as :func:`judge_slots` judged them."""
        self.conversations += 1
        self.failed += transcript.status == "failed"
        self.prompt_tokens += transcript.usage.prompt_tokens
        self.completion_tokens += transcript.usage.completion_tokens
        self.conversation_minutes += _duration(transcript) / 60
        reason = transcript.termination.reason if transcript.termination else transcript.status
        self.reasks += reasks(transcript)
        worked = any(final is None for side, _, final in slots if side == "assistant")
        success = transcript.status == "ok" and reason in SUCCESSFUL_ENDINGS and worked
        self.successes += success
        self.endings[reason if success or reason not in SUCCESSFUL_ENDINGS else f"{reason}_without_work"] += 1
        for side, name in SIDES.items():
            score = self.sides[name]
            held = [(first, final) for kind, first, final in slots if kind == side][:max_turns]
            score.written += len(held)
            for first, final in held:
                score.add(first, final)
            for _ in range(max_turns - len(held)):
                left = None if success else f"ended:{reason}"
                score.add(left, left)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "judge": self.judge,
            "conversations": self.conversations,
            "failed": self.failed,
            "successes": self.successes,
            "first_draft_share": round(self.share("first"), 4),
            "final_share": round(self.share("final"), 4),
            "sides": {name: side.to_dict() for name, side in self.sides.items()},
            "endings": dict(self.endings.most_common()),
            "reasks": self.reasks,
            "reasks_per_turn": round(self.reasks_per_turn, 4),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "minutes": round(self.minutes, 2),
            "conversation_minutes": round(self.conversation_minutes, 2),
        }


def _duration(transcript: Transcript) -> float:
    """Seconds from a conversation's start to its end (0 when it has no end)."""
    if transcript.finished_at is None:
        return 0.0
    started = datetime.fromisoformat(transcript.created_at.replace("Z", "+00:00"))
    return max(0.0, (datetime.fromisoformat(transcript.finished_at.replace("Z", "+00:00")) - started).total_seconds())


def reasks(transcript: Transcript) -> int:
    """How often an agent was asked again: a guard's ``reask`` verdicts, less the last one of each turn the guard
    then gave up on (recorded as a ``stop`` without a draft of its own)."""
    verdicts: list[dict[str, Any]] = [(event.model_extra or {}) for event in transcript.events if event.kind == "guard"]
    given_up = sum(1 for extra in verdicts if extra.get("action") == "stop" and "rejected" not in extra)
    return sum(1 for extra in verdicts if extra.get("action") == "reask") - given_up


def first_drafts(transcript: Transcript) -> dict[tuple[int, str], str]:
    """The first draft of each (turn, speaker) that something objected to, from the events that kept it."""
    drafts: dict[tuple[int, str], str] = {}
    for event in transcript.events:
        extra = event.model_extra or {}
        speaker = extra.get("speaker")
        if not isinstance(speaker, str):
            continue
        text: Any = None
        rejecting = event.kind == "guard" and extra.get("action") in ("reask", "stop")
        if rejecting or (event.kind == "critic" and extra.get("mode") == "review"):
            text = extra.get("rejected")
        elif event.kind == "critic" and extra.get("mode") == "pick" and extra.get("candidates"):
            text = extra["candidates"][0]
        if isinstance(text, str):
            drafts.setdefault((event.turn, speaker), text)
    return drafts


#: A turn written in a slot: its side, and why its first draft and its final turn were off task (None: on task).
Slot = tuple[str, str | None, str | None]
GAVE_UP = "gave_up"


@dataclass
class _Written:
    side: str
    final: TurnInContext | None  # None: a guard gave up on the turn's drafts
    draft: TurnInContext | None  # the first draft, when it differs from the final turn


def _written(transcript: Transcript) -> list[_Written]:
    """Every turn written in a slot, with the context each was written in."""
    drafts = first_drafts(transcript)
    reading = Reading.of(transcript)
    done_token = transcript.done_token_in_use
    messages = [m for m in answers(transcript) if reading.side(m.speaker) in SIDES]
    dialogue = Dialogue(
        reading.task, [(reading.side(m.speaker), m.content) for m in messages],  # type: ignore[misc]
        roles=reading.roles, subtasks=reading.subtasks, done_token=done_token,
    )  # fmt: skip
    written: list[_Written] = []
    for message, turn in zip(messages, in_context(dialogue), strict=True):
        draft = drafts.pop((message.turn, message.speaker), None)
        other = None if draft is None or draft == message.content else TurnInContext(draft, turn.side, turn.context)
        written.append(_Written(turn.side, turn, other))
    # drafts no reply was accepted for (the guard gave up): judged in the context after the last accepted turn
    end = list(in_context(Dialogue(dialogue.task, [*dialogue.turns, ("user", "")], roles=dialogue.roles)))[-1]
    for (_, speaker), draft in drafts.items():
        side = reading.side(speaker)
        if side in SIDES:
            written.append(_Written(side, None, TurnInContext(draft, side, end.context)))  # type: ignore[arg-type]
    return written


async def judge_slots(transcripts: Sequence[Transcript], judge: Judge) -> list[list[Slot]]:
    """Each transcript's slots, every first draft and final turn of them all read by ``judge`` in one batch."""
    written = [_written(transcript) for transcript in transcripts]
    tokens = [transcript.done_token_in_use for transcript in transcripts]
    asked = [
        turn
        for turns, token in zip(written, tokens, strict=True)
        for item in turns
        for turn in (item.final, item.draft)
        if turn is not None and not is_done(turn, token)
    ]
    verdicts = dict(zip(map(id, asked), await judge.verdicts(asked) if asked else [], strict=True))
    slots: list[list[Slot]] = []
    for turns, token in zip(written, tokens, strict=True):
        worked = False

        def reason(turn: TurnInContext | None, worked: bool, token: str = token) -> str | None:
            if turn is None:
                return GAVE_UP
            if is_done(turn, token):
                return None if worked else DONE_WITHOUT_WORK
            verdict = verdicts[id(turn)]
            return None if verdict.on_task else verdict.reason or "off_task"

        its: list[Slot] = []
        for item in turns:
            final = reason(item.final, worked)
            first = final if item.draft is None else reason(item.draft, worked)
            its.append((item.side, first, final))
            if item.final is not None and is_done(item.final, token):
                worked = False
            worked = worked or (item.side == "assistant" and final is None)
        slots.append(its)
    return slots
