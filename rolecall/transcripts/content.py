"""Whether a turn is on task by what it says, not only by the markers around it.

The guards keep the protocol's shape; with JSON turns the shape is guaranteed, since
rendering adds ``Instruction:`` and ``Solution:`` to whatever the fields hold. So these
checks read the fields themselves: the instruction (up to ``Input:``) and the solution
(without ``Next request.``). An instruction is off task when it solves, reports status, is
mostly an earlier instruction or the task itself, or shares no word with the task, its
subtasks, the roles and the last exchange; a solution when it gives instructions, is a
promise, is mostly its instruction, only reports status, or has too little in it. (Whether
a solution answers its instruction is past what word counts can tell: a list of names
answers "list the data sources" without sharing a word with it.) A done turn is on task once
a solution did real work. ``rolecall eval`` counts these verdicts and the quality floor
drops conversations by them; each verdict is a short reason name (:data:`REASONS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rolecall._text import INSTRUCTION, SOLUTION, body, containment, instruction_text, is_promise, normalize
from rolecall.transcripts.record import Message, Transcript

#: Each reason a turn is off task, and what it means (the eval's and the harvest report's vocabulary).
REASONS: dict[str, str] = {
    "off_format": "the reply lacks its side's marker (Instruction: or Solution:)",
    "empty": "the field holds nothing",
    "solves": "the instructor wrote the solution (a Solution: marker, code, or 'here is ...')",
    "status": "the turn only reports status ('the task is done')",
    "repeated": "the instruction repeats an earlier one",
    "restates_task": "the instruction restates the task instead of giving a step",
    "off_topic": "the instruction shares no word with the task, its subtasks, the roles or the last exchange",
    "instructs": "the executor gave instructions (an Instruction: marker, or asks the other side to act)",
    "promise": "the executor promised the work instead of doing it",
    "copies_instruction": "the solution copies the instruction",
    "no_substance": "the solution has fewer words than the minimum",
    "done_without_work": "the task was declared done before any solution did real work",
}
#: Words a solution must hold (after its markers) to count as work.
MIN_SOLUTION_WORDS = 5
#: A reply opening with "I will ..." of at most this many words is a promise.
PROMISE_WORDS = 20
#: How much of an instruction may come from an earlier one, or from the task, before it only repeats it; and how
#: much of a solution may come from the instruction (its input included) before it only copies it.
REPEAT_CONTAINMENT = 0.7
TASK_CONTAINMENT = 0.6
COPY_CONTAINMENT = 0.7

_STOPWORDS = frozenset(
    "a an the and or but if then so of to in on at by for with from as into onto about over under up down out "
    "is are was were be been being am do does did doing have has had having will would shall should can could may "
    "might must i you he she it we they me him her us them my your his its our their this that these those there "
    "here what which who whom whose when where why how all any both each few more most other some such no nor not "
    "only own same than too very just also now please next request none input instruction solution step task "
    "let lets make sure use using give write new one two first".split()
)
_LETTERS = re.compile(r"[a-z0-9]+")
_SOLVING = re.compile(
    r"^(here is|here's|here are|i have (written|created|made|prepared|done|completed)|"
    r"i've (written|created|made|prepared|done|completed))\b",
    re.IGNORECASE,
)
_STATUS = re.compile(
    r"^(the |our |this |all |we are |we're |i am |i'm |everything is |it is |it's )?"
    r"(task|work|job|project|everything|it|all)?\s*(is |has been |have been )?"
    r"(done|complete|completed|finished|accomplished)\b[\s.!]*$",
    re.IGNORECASE,
)
#: The status an instruction may report anywhere in it ("your task is already completed", "not done yet").
_STATUS_IN_INSTRUCTION = re.compile(
    r"\b(is|are|has been|have been) (already |now |not )?(yet )?(done|complete|completed|finished)\b|\bnot done yet\b",
    re.IGNORECASE,
)
#: An executor delegating the work back ("you should ...", "can you ..."); advice ("you can use X") is work.
_ASKS_OTHER = re.compile(
    r"^(you (should|need to|must|have to|write|do|give|provide|tell|send|make|create)\b|"
    r"please (write|provide|give|tell|send|make|create|do|share|explain)|can you|could you|would you|"
    r"give me|tell me|send me|provide me|show me)\b",
    re.IGNORECASE,
)
_ANY_SOLUTION = re.compile(r"\bsolution\s*:", re.IGNORECASE)
_ANY_INSTRUCTION = re.compile(r"\binstruction\s*:", re.IGNORECASE)
_NEXT_REQUEST = re.compile(r"(?i)\s*next request\.?\s*$")


def solution_field(text: str) -> str:
    """A solution's own text: after ``Solution:``, without ``Next request.``."""
    match = SOLUTION.search(text)
    rest = text[match.end() :] if match else text
    return _NEXT_REQUEST.sub("", rest).strip()


@lru_cache(maxsize=4096)
def topic_words(text: str) -> frozenset[str]:
    """The content words of ``text``, cut to five letters so that 'bicycle' and 'bicycles' meet.

    Cached: a conversation's task and roles are read again for every one of its turns.
    """
    words = _LETTERS.findall(" ".join(normalize(text)).replace("'s ", " ").replace("'", ""))
    return frozenset({word[:5] for word in words if len(word) > 2 and word not in _STOPWORDS})


@lru_cache(maxsize=1024)
def _topic_of(task: str, subtasks: tuple[str, ...], roles: tuple[str, ...]) -> frozenset[str]:
    """The words of what a whole conversation is about: its task, subtasks and roles (read once per conversation)."""
    return frozenset().union(*(topic_words(text) for text in (task, *subtasks, *roles)))


def _status(text: str) -> bool:
    return bool(_STATUS.match(text.strip()))


@dataclass(frozen=True)
class Context:
    """What a turn is judged against: the task, its subtasks, and the dialogue before the turn."""

    task: str
    subtasks: Sequence[str] = ()
    roles: Sequence[str] = ()  # the two roles, part of what the dialogue is about
    instructions: Sequence[str] = ()  # earlier instruction fields, oldest first
    last_instruction: str | None = None  # the instruction (with its input) the executor answers
    last_solution: str | None = None
    worked: bool = False  # a solution before this turn did real work

    def topic(self, *exchange: str | None) -> frozenset[str]:
        """The words a turn may share to be on topic: the task's, the subtasks', the roles' and ``exchange``'s."""
        return _topic_of(self.task, tuple(self.subtasks), tuple(self.roles)).union(
            *(topic_words(text) for text in exchange if text)
        )


def instruction_problem(text: str, context: Context, done_token: str) -> str | None:
    """Why an instructor's reply is off task, or None."""
    if done_token in text:
        return None if context.worked else "done_without_work"
    if not INSTRUCTION.search(text):
        return "off_format"
    field_text = instruction_text(text)
    if not body(field_text):
        return "empty"
    if _ANY_SOLUTION.search(text) or "```" in field_text or _SOLVING.match(field_text):
        return "solves"
    if _status(field_text) or _STATUS_IN_INSTRUCTION.search(field_text):
        return "status"
    if any(containment(field_text, earlier) >= REPEAT_CONTAINMENT for earlier in context.instructions):
        return "repeated"
    if containment(field_text, context.task) >= TASK_CONTAINMENT:
        return "restates_task"
    known = context.topic(context.last_instruction, context.last_solution)
    if known and not topic_words(text) & known:
        return "off_topic"
    return None


def solution_problem(text: str, context: Context) -> str | None:
    """Why an executor's reply is off task, or None."""
    if not SOLUTION.search(text):
        return "off_format"
    field_text = solution_field(text)
    if not body(field_text):
        return "empty"
    if _ANY_INSTRUCTION.search(field_text) or _ASKS_OTHER.match(field_text):
        return "instructs"
    if is_promise(field_text, max_words=PROMISE_WORDS):
        return "promise"
    if _status(field_text):
        return "status"
    if context.last_instruction and containment(field_text, context.last_instruction) >= COPY_CONTAINMENT:
        return "copies_instruction"
    if len(normalize(field_text)) < MIN_SOLUTION_WORDS:
        return "no_substance"
    return None


def problem(text: str, side: str, context: Context, done_token: str) -> str | None:
    """Why a reply of ``side`` ("user": instructor, "assistant": executor) is off task, or None."""
    if side == "user":
        return instruction_problem(text, context, done_token)
    if side == "assistant":
        return solution_problem(text, context)
    return None


@dataclass(frozen=True)
class Judged:
    """One accepted turn of a role-play with its verdict, and the context it was judged in."""

    message: Message
    side: str
    context: Context
    reason: str | None

    @property
    def on_task(self) -> bool:
        return self.reason is None


def subtask_titles(transcript: Transcript) -> list[str]:
    nodes = (transcript.task_graph or {}).get("nodes")
    if not isinstance(nodes, list):
        return []
    return [str(node.get("title")) for node in nodes if isinstance(node, dict) and node.get("title")]


@dataclass
class Reading:
    """A role-play read turn by turn: the context the next turn is judged in."""

    task: str
    subtasks: list[str]
    roles: list[str]
    sides: dict[str, str]  # speaker -> "user", "assistant" (or another kind)
    instructions: list[str] = field(default_factory=list)
    last_instruction: str | None = None
    last_solution: str | None = None
    worked: bool = False

    @classmethod
    def of(cls, transcript: Transcript) -> Reading:
        roles = [agent.role for agent in transcript.agents if agent.kind in ("user", "assistant")]
        sides = {agent.name: agent.kind for agent in transcript.agents}
        return cls(transcript.task.specified or transcript.task.original, subtask_titles(transcript), roles, sides)

    def side(self, speaker: str) -> str:
        return self.sides.get(speaker, "")

    def context(self) -> Context:
        return Context(
            self.task, tuple(self.subtasks), tuple(self.roles), tuple(self.instructions), self.last_instruction,
            self.last_solution, self.worked,
        )  # fmt: skip

    def advance(self, text: str, side: str, reason: str | None, done_token: str) -> None:
        """Take in an accepted turn of ``side`` and the reason it was off task (None when on task)."""
        if side == "user" and done_token in text:
            self.worked = False  # a new (sub)task starts after a done token
        elif side == "user":
            self.instructions.append(instruction_text(text))
            self.last_instruction = body(text)  # the instruction with its input
        elif side == "assistant":
            self.last_solution = solution_field(text)
            self.worked = self.worked or reason is None


def answers(transcript: Transcript) -> list[Message]:
    """The turns the content checks judge: dialogue without tool calls (the text beside a call is not the answer)."""
    return [message for message in transcript.spoken if not message.tool_calls]


def judge(transcript: Transcript) -> Iterator[Judged]:
    """Each accepted turn of a role-play's instructor and executor, judged in order (society members are skipped)."""
    done_token = transcript.done_token_in_use
    reading = Reading.of(transcript)
    for message in answers(transcript):
        side = reading.side(message.speaker)
        if side not in ("user", "assistant"):
            continue
        context = reading.context()
        reason = problem(message.content, side, context, done_token)
        yield Judged(message, side, context, reason)
        reading.advance(message.content, side, reason, done_token)


def real_work(transcript: Transcript) -> bool:
    """Whether some solution of the conversation passed the content checks."""
    return any(judged.on_task for judged in judge(transcript) if judged.side == "assistant")


def summary(reasons: dict[str, Any]) -> str:
    """``reasons`` (name -> count) as one line, the commonest first."""
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} {count}" for name, count in ordered) or "none"
