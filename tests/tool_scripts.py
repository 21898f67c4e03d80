"""What the tool tests share: a scripted role-play whose executor has tools, and its parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rolecall import RolePlay, Transcript
from rolecall.models.base import Completion, ToolCall
from rolecall.testing import ScriptedModel

EXAMPLES = Path(__file__).parent.parent / "examples"
INSTRUCTION = "Instruction: price 3 loaves at 2.40 each\nInput: None"
ANSWER = "Solution: 3 loaves cost 7.2.\nNext request."
DONE = "<TASK_DONE>"


def call(name: str, **arguments: Any) -> Completion:
    return Completion(text="", tool_calls=[ToolCall(id="", name=name, arguments=arguments)])


def roleplay(executor: list[Any], *, tools: list[Any], instructor: list[str] | None = None, **options: Any) -> RolePlay:
    return RolePlay(
        "Price the menu", assistant_role="Accountant", user_role="Baker",
        user_model=ScriptedModel(instructor or [INSTRUCTION, DONE]), assistant_model=ScriptedModel(executor),
        assistant_tools=tools, **options,
    )  # fmt: skip


def tool_messages(transcript: Transcript) -> list[Any]:
    return [message for message in transcript.messages if message.role == "tool"]


class NoFunctionCalling(ScriptedModel):
    """A scripted model whose endpoint has no function calling: tools go by JSON Schema."""

    function_calling = False
