"""A person in the conversation: turns (and critic verdicts) typed instead of generated.

A :class:`HumanAgent` answers through an input function, so the terminal, a notebook or a
test can drive it the same way. What the person types is recorded like a model's reply,
with ``model: "human"`` and the time they took; two commands steer the conversation
instead: ``/undo`` takes back the last exchange (the person's last turn and what answered
it) and asks again, ``/quit`` ends it as ``interrupted`` (saved like any other). Guards
read the person's turns and say what they would have rejected; they never re-ask a person.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rolecall.agents.base import Agent
from rolecall.agents.roleplay_agents import Executor, Instructor
from rolecall.errors import SpecError
from rolecall.models.base import ChatMessage, Completion, GenerationParams
from rolecall.transcripts.record import HUMAN_MODEL

UNDO, QUIT = "/undo", "/quit"


@dataclass(frozen=True)
class HumanTurn:
    """What a person is asked: who they speak as, what that side sees, and how to answer."""

    speaker: str
    #: The conversation as the person's side sees it, its brief (system prompt) first.
    messages: list[ChatMessage]
    #: A line on how to answer (the commands; the done token where it ends the task).
    hint: str
    #: A question to show the person that the conversation's own view does not (a critic's options).
    question: str | None = None


HumanInput = Callable[[HumanTurn], "str | Awaitable[str]"]


def _ignore(text: str) -> None:
    """Where notices go when nobody shows them."""


@dataclass(frozen=True)
class Person:
    """A person taking part: how to ask them, how to tell them things, and which part they play.

    ``plays`` is "user", "assistant", a role's or a society member's name, or ``None`` when the
    person only judges (a human critic).
    """

    ask: HumanInput
    tell: Callable[[str], None] = field(default=_ignore)
    plays: str | None = None


class Undo(Exception):
    """The person took back their last exchange."""


class Quit(Exception):
    """The person ended the conversation."""


async def answer(person: Person, turn: HumanTurn) -> tuple[str, float]:
    """The person's answer to ``turn`` and the milliseconds they took (the input function may be async)."""
    started = time.perf_counter()
    reply = person.ask(turn)
    if inspect.isawaitable(reply):
        reply = await reply
    return str(reply), round((time.perf_counter() - started) * 1000, 3)


class HumanAgent(Agent):
    """An agent whose replies a person writes. Mix it in before a model agent's class to take its part.

    ``HumanAgent("Stock Trader", ask=input_function)`` plays a plain agent;
    :class:`HumanInstructor` and :class:`HumanExecutor` play a role-play's two sides, keeping
    their system prompts as the person's brief. JSON turns are a model's aid and are off.
    """

    #: Replies come from a person (guards only report on them; ``/undo`` and ``/quit`` apply).
    human = True

    def __init__(self, *args: Any, person: Person | None = None, ask: HumanInput | None = None, **options: Any) -> None:
        """``person`` says how to ask and tell the person; ``ask=function`` alone means ``Person(ask=function)``."""
        if person is None:
            if ask is None:
                raise SpecError(f"{type(self).__name__}: give person= or ask=, how to ask the person for a turn")
            person = Person(ask=ask)
        assist = options.get("assist")
        if assist is not None and getattr(assist, "json_turns", False):
            options["assist"] = assist.model_copy(update={"json_turns": False})
        super().__init__(*args, **options)
        self.person = person

    def hint(self) -> str:
        """How to answer, shown with every request for a turn."""
        return f"a blank line sends · {UNDO} takes back your last exchange · {QUIT} stops and saves"

    def question(self, messages: list[ChatMessage]) -> str | None:
        """What to show the person beside the conversation (nothing: they see it as it goes)."""
        return None

    async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        turn = HumanTurn(self.name, messages, self.hint(), self.question(messages))
        text, took_ms = await answer(self.person, turn)
        command = text.strip().lower()
        if command == QUIT:
            raise Quit
        if command == UNDO:
            raise Undo
        return Completion(text=text, model=HUMAN_MODEL, latency_ms=took_ms, finish_reason="stop")

    def notice(self, text: str) -> None:
        """Tell the person something (a guard's objection, an undo that cannot be done)."""
        self.person.tell(text)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": HUMAN_MODEL}


class HumanInstructor(HumanAgent, Instructor):
    """A person giving the instructions; typing the done token ends the current subtask."""

    def hint(self) -> str:
        return f"{super().hint()} · {self.done_token} when the task is done"


class HumanExecutor(HumanAgent, Executor):
    """A person carrying out the instructions."""
