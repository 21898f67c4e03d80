"""The llm judge: any OpenAI-compatible model reads each turn against the rubric and answers in JSON.

The rubric is package data (``rubric.md``, the rules of ``docs/judges.md`` in a model's words)
and the verdict comes under a JSON Schema, so a small or a large model answers in the same
shape. The model it is given is wrapped like every other call (metered, budgeted, cached by the
caller), and a turn is one call: ``rolecall judge --judge llm`` on a big endpoint costs what its
calls cost, and ``rolecall judge calibrate --judge llm`` shows whether they are worth it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from rolecall.judges.base import Judge, LoopGates, TurnInContext, Verdict, register_judge
from rolecall.models.base import ChatMessage, ChatModel, GenerationParams, Usage

#: The verdict's shape: on task or not, a confidence, and a short reason.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "on_task": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string", "maxLength": 120},
    },
    "required": ["on_task", "confidence", "reason"],
    "additionalProperties": False,
}
#: How much of the dialogue before a turn the judge is shown (characters of each part).
CONTEXT_CHARS = 1200
CONCURRENCY = 8


def rubric() -> str:
    return files("rolecall.judges").joinpath("rubric.md").read_text(encoding="utf-8")


def request(turn: TurnInContext) -> list[ChatMessage]:
    """The messages that ask for ``turn``'s verdict."""
    context = turn.context
    parts = [f"Task: {context.task}"]
    if context.roles:
        parts.append(f"Roles: instructor {context.roles[0]}, executor {context.roles[-1]}")
    if context.subtasks:
        parts.append("Steps of the plan: " + "; ".join(context.subtasks))
    if turn.side == "assistant":
        parts.append(f"The instruction it answers:\n{(context.last_instruction or '(none)')[:CONTEXT_CHARS]}")
    else:
        if context.instructions:
            parts.append("Earlier instructions:\n" + "\n".join(f"- {text[:200]}" for text in context.instructions[-4:]))
        parts.append(f"The executor's last answer:\n{(context.last_solution or '(none)')[:CONTEXT_CHARS]}")
    who = "executor" if turn.side == "assistant" else "instructor"
    parts.append(f"The {who}'s turn to judge:\n{turn.text[: CONTEXT_CHARS * 2]}")
    return [
        {"role": "system", "content": rubric()},
        {"role": "user", "content": "\n\n".join(parts) + '\n\nAnswer in JSON: {"on_task", "confidence", "reason"}.'},
    ]


@register_judge
class LLMJudge(Judge):
    """A model at any OpenAI-compatible endpoint reads each turn against the rubric (one metered call per
    turn)."""

    name = "llm"

    def __init__(self, model: ChatModel, *, concurrency: int = CONCURRENCY) -> None:
        self.model = model
        self.usage = Usage()
        self.calls = 0
        self._gates = LoopGates(concurrency)

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        return list(await asyncio.gather(*(self.read(turn) for turn in turns)))

    async def read(self, turn: TurnInContext) -> Verdict:
        params = GenerationParams(max_tokens=120, temperature=0.0, json_schema=SCHEMA)
        async with self._gates.gate():
            completion = await self.model.complete(request(turn), params=params)
        self.usage = self.usage + completion.usage
        self.calls += 1
        return self.parse(completion.text)

    def parse(self, text: str) -> Verdict:
        """The verdict in ``text``; an answer out of shape is off task with the reason ``unreadable_verdict``."""
        try:
            answer = json.loads(text)
            on_task = answer["on_task"]
            confidence = float(answer.get("confidence", 1.0))
            if not isinstance(on_task, bool):
                raise TypeError("on_task is not a boolean")
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.verdict(False, 0.0, "unreadable_verdict")
        confidence = max(0.0, min(1.0, confidence))
        score = 0.5 + confidence / 2 if on_task else 0.5 - confidence / 2
        reason = str(answer.get("reason") or "off task")[:120]
        return self.verdict(on_task, score, reason)
