"""The ``openai`` format: OpenAI's fine-tuning chat rows, with a 0/1 ``weight`` on each assistant message.

Each row is ``{"messages": [...], "tools": [...]}``; tool calls are ``tool_calls`` with
arguments as a JSON string, their results ``tool`` messages. ``weight`` says which of the
trained agent's turns carry the loss, so the format trains per turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rolecall.transcripts.formats._messages import axolotl_messages, llama_factory_messages, with_tools
from rolecall.transcripts.formats.base import Format, Kept, Loss, register_format, trained_turns
from rolecall.transcripts.perspective import Chat, Turn


def _message(turn: Turn) -> dict[str, Any]:
    if turn.role == "tool":
        return {"role": "tool", "tool_call_id": turn.call_id, "content": turn.content}
    if turn.calls:
        message: dict[str, Any] = {"role": "assistant", "tool_calls": [call.wire() for call in turn.calls]}
        return {"content": turn.content, **message} if turn.content else message
    return {"role": turn.role, "content": turn.content}


def openai_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    """The one row of ``chat``: every message, the assistant's weighted 1 where they carry the loss."""
    trained = set(trained_turns(chat, loss))
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(chat.turns):
        message = _message(turn)
        if turn.role == "assistant":
            message["weight"] = int(index in trained)
        messages.append(message)
    yield with_tools({"messages": messages}, chat)


@register_format
class OpenAI(Format):
    """{"messages": [...], "tools": [...]}: OpenAI's chat fine-tuning rows, ``weight`` 0/1 on assistant turns."""

    name = "openai"
    drops = "nothing"
    per_turn = True

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        return openai_rows(kept.chat, kept.loss)

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any]:
        return llama_factory_messages(file_name, loss=loss)

    def axolotl(self, path: Path) -> dict[str, Any]:
        return axolotl_messages(path) | {"message_field_training": "weight"}
