"""The quality floor: which conversations are good enough to train on, and why others are not.

Each check returns the reason a conversation is dropped, or None. The reasons are what the
harvest report and the dataset card count, and what ``--keep-rejected`` writes as
``filter_reason``. Beyond structure, a role-play must pass the content checks turn by turn
(:mod:`rolecall.transcripts.content`: ``content:off_topic``, ``content:repeated``,
``content:no_substance``, ``content:done_without_work``, ...). Which turns are on task is read
by the word-count checks unless the harvest is given a judge's verdicts (a :data:`TurnReader`,
made from any of :mod:`rolecall.judges` by the caller: this layer knows verdicts, not judges).
Scores weigh the share of turns on task with substance and variety.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rolecall._text import body, normalize, refusal, similarity
from rolecall.transcripts.content import judge
from rolecall.transcripts.record import HUMAN_MODEL, Transcript

DEFAULT_REASONS = frozenset({"task_done", "graph_complete"})
ContentScope = Literal["conversation", "turns", "off"]
#: A judge's reading of a transcript: for each accepted instructor or executor turn, by message index, the reason
#: it is off task (None when on task).
TurnVerdicts = dict[int, str | None]
TurnReader = Callable[[Transcript], TurnVerdicts]
#: A judge's reading of drafts: whether each (message index, draft) is on task, read in the context of that message.
DraftReader = Callable[[Transcript, Sequence[tuple[int, str]]], list[bool]]


def content_verdicts(transcript: Transcript) -> TurnVerdicts:
    """The word-count content checks' verdicts (the lexical judge's)."""
    return {judged.message.index: judged.reason for judged in judge(transcript)}


def first_off_task(transcript: Transcript, read: TurnReader = content_verdicts) -> str | None:
    """Why the first turn off task is, by ``read`` (the word counts stop reading at that turn)."""
    if read is content_verdicts:
        return next((judged.reason for judged in judge(transcript) if judged.reason), None)
    return next((reason for reason in read(transcript).values() if reason), None)


@dataclass(frozen=True)
class QualityFloor:
    """What a conversation must meet to be kept."""

    reasons: frozenset[str] = DEFAULT_REASONS
    min_turns: int = 1
    min_score: float | None = None
    #: Keep only conversations whose tool calls all validated and ran without error.
    tools_ok: bool = False
    #: Keep conversations in which a person wrote turns (``rolecall run --human``).
    human: bool = True
    #: The content checks (``harvest --content-checks``): ``conversation`` drops a role-play with any turn off
    #: task (``content:REASON``, the done token before real work included); ``turns`` keeps it and trains only
    #: the agent's turns on task (formats that train per turn, ``Format.per_turn``); ``off`` keeps the floor to
    #: structure.
    content: ContentScope = "conversation"

    def rejection(self, transcript: Transcript, read: TurnReader = content_verdicts) -> str | None:
        """Why ``transcript`` is dropped, or None when it passes (the score is checked apart); ``read`` says which
        turns are on task, and is asked only once the structure passed."""
        if transcript.status != "ok":
            return "failed"
        reason = transcript.termination.reason if transcript.termination else "unfinished"
        if reason not in self.reasons:
            return f"ended:{reason}"
        turns = transcript.messages[-1].turn if transcript.messages else 0
        if turns < self.min_turns:
            return "too_few_turns"
        if not self.human and any(message.model == HUMAN_MODEL for message in transcript.messages):
            return "human_turns"
        for event in transcript.events:
            extra = event.model_extra or {}
            if event.kind == "guard" and extra.get("action") in ("flag", "stop"):
                return f"guard:{extra.get('guard')}"
            if self.tools_ok and event.kind == "guard" and extra.get("guard") == "bad_tool_call":
                return "tool_call_invalid"
        if self.tools_ok and any(result.error is not None for result in transcript.tool_results):
            return "tool_error"
        done_token = transcript.done_token or "<TASK_DONE>"
        for message in transcript.spoken:
            short = len(message.content) < 64  # only a short reply can be empty once its markers are gone
            if short and not body(message.content) and done_token not in message.content:
                return "empty_turn"
        if refusal("\n".join(message.content for message in transcript.spoken)):
            return "refusal"
        if self.content == "conversation":
            off = first_off_task(transcript, read)
            return f"content:{off}" if off else None
        return None


def heuristic_score(transcript: Transcript, read: TurnReader = content_verdicts) -> float:
    """0..1: the share of turns on task (by ``read``), their substance, and how little they repeat.

    A society's members are not judged by the role-play's content checks; for them the first
    part is the share of turns that are not empty.
    """
    done_token = transcript.done_token or "<TASK_DONE>"
    messages = [m for m in transcript.spoken if done_token not in m.content]
    if not messages:
        return 0.0
    verdicts = read(transcript)
    judged = [verdicts[m.index] is None for m in messages if m.index in verdicts]
    on_task = sum(judged) / len(judged) if judged else sum(bool(body(m.content)) for m in messages) / len(messages)
    substance = sum(min(len(normalize(body(m.content))), 60) / 60 for m in messages) / len(messages)
    repeats = sum(similarity(a.content, b.content) for a, b in zip(messages, messages[2:], strict=False))
    variety = 1 - repeats / max(1, len(messages) - 2)
    return round((on_task + substance + variety) / 3, 4)
