"""The guard stage of a turn: every guard reads the reply, and its action decides what happens.

A reply that calls tools is read by the guards that judge calls (``bad_tool_call``: an unknown
tool, arguments that do not fit); an answer by all the others. The first objection wins, and
the guard's action says what follows: ``reask`` (the turn is drafted again with a reminder),
``flag`` (kept, with an event), ``stop`` (the conversation ends with the guard's name). A
person is never asked again: they are told.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rolecall.agents.base import Agent
from rolecall.agents.human import HumanAgent
from rolecall.dialogue.recorder import Recorder
from rolecall.guards import Guard, Side, Turn, Verdict, action_of, first_verdict
from rolecall.guards import build as build_guards
from rolecall.models.base import Completion, ToolCall
from rolecall.settings import GuardSettings

#: How much of the dialogue a guard reads: the last messages, newest last.
_HISTORY = 12


class GuardStop(Exception):
    """A guard's verdict ended the conversation (after re-asks, or at once)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.detail)
        self.verdict = verdict


class Guarding:
    """The guards a conversation runs, with the action each one takes."""

    def __init__(
        self,
        settings: GuardSettings,
        recorder: Recorder,
        *,
        done_token: str,
        call_problems: Callable[[Agent, Sequence[ToolCall]], tuple[str, ...]],
    ) -> None:
        self.guards = build_guards(settings)
        self.actions = {guard.name: action_of(settings, type(guard)) for guard in self.guards}
        self.max_reasks = settings.max_reasks
        self.recorder = recorder
        self.done_token = done_token
        self.call_problems = call_problems

    def objection(self, agent: Agent, completion: Completion, side: Side, others: Sequence[str]) -> Verdict | None:
        """The verdict to re-ask with, or ``None`` to accept; raises :class:`GuardStop` when a guard stops."""
        calling = bool(completion.tool_calls)
        guards: list[Guard] = [guard for guard in self.guards if guard.judges_calls == calling]
        if not guards:
            return None
        spoken = [message for message in self.recorder.messages[-2 * _HISTORY :] if message.is_dialogue]
        history = [(message.speaker, message.content) for message in spoken][-_HISTORY:]
        problems = self.call_problems(agent, completion.tool_calls) if calling else ()
        turn = Turn(
            completion.text, agent.name, side, self.done_token, history, others,
            calls=tuple(completion.tool_calls), problems=problems,
        )  # fmt: skip
        verdict = first_verdict(guards, turn)
        if verdict is None:
            return None
        rejected = _calls_text(completion) if calling else completion.text
        if isinstance(agent, HumanAgent):  # a person is told, never asked again
            self.record(verdict, "flag", agent)
            agent.notice(f"{verdict.guard}: {verdict.detail} (a model would have been asked again)")
            return None
        action = self.actions[verdict.guard]
        if action == "flag":
            self.record(verdict, "flag", agent)
            return None
        if action == "stop":
            self.record(verdict, "stop", agent, rejected=rejected)
            raise GuardStop(verdict)
        self.record(verdict, "reask", agent, rejected=rejected)
        return verdict

    def record(self, verdict: Verdict, action: str, agent: Agent, rejected: str | None = None) -> None:
        fields: dict[str, Any] = {"guard": verdict.guard, "action": action, "speaker": agent.name}
        fields["detail"] = verdict.detail
        if rejected is not None:
            fields["rejected"] = rejected
        self.recorder.event("guard", **fields)


def _calls_text(completion: Completion) -> str:
    """A draft's tool calls as text, for the guard event that rejected them."""
    return "\n".join(json.dumps({"tool": call.name, "arguments": call.arguments}) for call in completion.tool_calls)
