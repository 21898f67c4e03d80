"""What a judge is: it reads turns in their context and says, for each, whether it is on task.

Every place that decides quality (the eval, the harvest floor, the critic, preference pairs,
stats, the viewer) asks a :class:`Judge` through this one interface, so a better judge improves
all of them at once. A judge takes a batch of :class:`TurnInContext` and returns one
:class:`Verdict` per turn; batches let a judge that runs a model read many turns per call.

Done turns (the instructor's done token) are not a judge's to read: :func:`judge_dialogue`
decides them by the rule of ``docs/judges.md`` (on task once an earlier solution of the same
task was judged on task), so every judge applies that rule the same way.

Judges join :data:`JUDGES` as guards join theirs: the built-ins by :func:`register_judge`, and
an installed package by the entry point group ``rolecall.judges``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal, cast

from rolecall._text import body, instruction_text
from rolecall.registry import Registry
from rolecall.transcripts.content import Context, Reading, answers, solution_field
from rolecall.transcripts.record import DONE_TOKEN, Transcript

Side = Literal["user", "assistant"]
ENTRY_POINT_GROUP = "rolecall.judges"
DONE_WITHOUT_WORK = "done_without_work"


@dataclass(frozen=True)
class TurnInContext:
    """One accepted instructor or executor turn, and what it is judged against."""

    text: str
    side: Side
    context: Context
    conversation_id: str = ""
    message_index: int = -1  # the turn's index in its transcript's messages

    @property
    def instruction(self) -> str:
        """The instructor's field ("" for an executor's turn)."""
        return instruction_text(self.text) if self.side == "user" else ""

    @property
    def solution(self) -> str:
        """The executor's field ("" for an instructor's turn)."""
        return solution_field(self.text) if self.side == "assistant" else ""

    @property
    def field(self) -> str:
        """The turn's own content without its protocol markers."""
        return self.instruction if self.side == "user" else self.solution


@dataclass(frozen=True)
class Verdict:
    """A judge's reading of one turn: on task or not, a score in 0..1 (higher is more on task), and why."""

    on_task: bool
    score: float
    reason: str | None  # a short name of what is wrong (None when on task)
    judge: str

    def to_dict(self) -> dict[str, Any]:
        return {"on_task": self.on_task, "score": round(self.score, 4), "reason": self.reason, "judge": self.judge}


class Judge:
    """A named reader of turns. Subclass, set ``name``, write :meth:`verdicts`, register.

    The class docstring says how the judge reads (``rolecall judge --list`` shows it). A judge
    that holds a resource (a model server) opens it in ``__enter__`` and frees it in ``__exit__``;
    :func:`judge_dialogue` and the commands use every judge as a context manager.
    """

    name: ClassVar[str] = ""

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        """One verdict per turn, in order. Done turns never reach a judge."""
        raise NotImplementedError

    def verdict(self, on_task: bool, score: float, reason: str | None = None) -> Verdict:
        return Verdict(on_task, max(0.0, min(1.0, float(score))), None if on_task else reason, self.name)

    def __enter__(self) -> Judge:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


JUDGES: Registry[Judge] = Registry(
    "judge", ENTRY_POINT_GROUP, Judge, name_of=lambda judge: judge.name, package="rolecall.judges"
)


def register_judge(judge: type[Judge]) -> type[Judge]:
    """Add ``judge`` to the registry (usable as a class decorator)."""
    return JUDGES.register(judge)


@dataclass(frozen=True)
class Dialogue:
    """A role-play to judge, as plain text: what it is about and its accepted turns in order."""

    task: str
    turns: Sequence[tuple[Side, str]]  # (side, text)
    roles: Sequence[str] = ()
    subtasks: Sequence[str] = ()
    done_token: str = DONE_TOKEN
    conversation_id: str = ""
    message_indices: Sequence[int] = ()  # each turn's index in its transcript (defaults to its position)


def dialogue_of(transcript: Transcript) -> Dialogue | None:
    """The instructor's and executor's accepted turns of a role-play (None for a society, which has neither)."""
    reading = Reading.of(transcript)
    turns: list[tuple[Side, str]] = []
    indices: list[int] = []
    for message in answers(transcript):
        side = reading.side(message.speaker)
        if side in {"user", "assistant"}:
            turns.append((cast("Side", side), message.content))
            indices.append(message.index)
    if not turns:
        return None
    return Dialogue(
        reading.task, turns, roles=reading.roles, subtasks=reading.subtasks,
        done_token=transcript.done_token_in_use, conversation_id=transcript.id, message_indices=indices,
    )  # fmt: skip


def in_context(dialogue: Dialogue) -> Iterator[TurnInContext]:
    """Each turn of ``dialogue`` with the context before it (``Context.worked`` is left to the done rule)."""
    instructions: list[str] = []
    last_instruction: str | None = None
    last_solution: str | None = None
    for position, (side, text) in enumerate(dialogue.turns):
        context = Context(
            dialogue.task, tuple(dialogue.subtasks), tuple(dialogue.roles), tuple(instructions), last_instruction,
            last_solution,
        )  # fmt: skip
        index = dialogue.message_indices[position] if dialogue.message_indices else position
        yield TurnInContext(text, side, context, dialogue.conversation_id, index)
        if side == "user" and dialogue.done_token not in text:
            instructions.append(instruction_text(text))
            last_instruction = body(text)
        elif side == "assistant":
            last_solution = solution_field(text)


def is_done(turn: TurnInContext, done_token: str) -> bool:
    """Whether ``turn`` is the instructor ending the task (decided by rule, never by a judge)."""
    return turn.side == "user" and done_token in turn.text


async def judge_dialogue(judge: Judge, dialogues: Sequence[Dialogue]) -> list[list[Verdict]]:
    """Every turn of every dialogue judged: the judge reads all non-done turns in one batch, then done turns
    are on task once an earlier solution (since the last done token) was."""
    turns = [list(in_context(dialogue)) for dialogue in dialogues]
    asked = [
        turn
        for dialogue, its in zip(dialogues, turns, strict=True)
        for turn in its
        if not is_done(turn, dialogue.done_token)
    ]
    answered = iter(await judge.verdicts(asked) if asked else [])
    results: list[list[Verdict]] = []
    for dialogue, its in zip(dialogues, turns, strict=True):
        verdicts: list[Verdict] = []
        worked = False
        for turn in its:
            if is_done(turn, dialogue.done_token):
                verdicts.append(judge.verdict(worked, 1.0 if worked else 0.0, DONE_WITHOUT_WORK))
                worked = False
                continue
            verdict = next(answered)
            verdicts.append(verdict)
            worked = worked or (turn.side == "assistant" and verdict.on_task)
        results.append(verdicts)
    return results


class LoopGates:
    """A semaphore per event loop: a judge is called from ``asyncio.run`` again and again (a harvest reads one
    transcript at a time), and an asyncio semaphore belongs to the loop it was first used in."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._gates: dict[int, asyncio.Semaphore] = {}

    def gate(self) -> asyncio.Semaphore:
        loop = id(asyncio.get_running_loop())
        if loop not in self._gates:
            self._gates = {loop: asyncio.Semaphore(self.limit)}  # loops before this one are finished
        return self._gates[loop]
