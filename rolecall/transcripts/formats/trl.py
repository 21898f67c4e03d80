"""The ``trl`` format: the chat as TRL's language-modeling SFT reads it, through the model's chat template.

Each row is ``{"messages": [...], "tools": [...]}``; tool calls are ``tool_calls`` with
arguments as objects, and results ``tool`` messages named by their tool, as Hugging Face
chat templates expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rolecall.transcripts.formats._messages import (
    axolotl_messages,
    chat_template_message,
    llama_factory_messages,
    with_tools,
)
from rolecall.transcripts.formats.base import Format, Kept, Loss, register_format
from rolecall.transcripts.perspective import Chat


def trl_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    """The one row of ``chat`` (the whole chat trains: ``loss`` is the trainer's to apply)."""
    yield with_tools({"messages": [chat_template_message(turn) for turn in chat.turns]}, chat)


@register_format
class TRL(Format):
    """{"messages": [...], "tools": [...]} for TRL's SFT: calls as ``tool_calls`` with arguments as objects."""

    name = "trl"
    drops = "nothing"

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        return trl_rows(kept.chat, kept.loss)

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any]:
        return llama_factory_messages(file_name, loss=loss)

    def axolotl(self, path: Path) -> dict[str, Any]:
        return axolotl_messages(path)
