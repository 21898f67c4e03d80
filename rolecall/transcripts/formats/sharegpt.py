"""The ``sharegpt`` format: LLaMA-Factory's ShareGPT rows, human and gpt alternating after the system prompt.

Each row is ``{"conversations": [{"from", "value"}], "tools": "<JSON>"}``; a call is a
``function_call`` turn, its result an ``observation`` (the results of parallel calls joined
into one). ShareGPT carries no per-turn mask: ``--loss last`` is LLaMA-Factory's
``mask_history``, set in ``dataset_info.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rolecall.transcripts.formats.base import Format, Kept, Loss, register_format
from rolecall.transcripts.perspective import Chat

_FROM = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


def sharegpt_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    """The one row of ``chat`` (``loss`` is the trainer's to apply: see the module docstring)."""
    conversations: list[dict[str, str]] = []
    for turn in chat.turns:
        if turn.calls:
            calls = [{"name": call.name, "arguments": call.arguments} for call in turn.calls]
            value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
            conversations.append({"from": "function_call", "value": value})
        elif turn.role == "tool" and conversations and conversations[-1]["from"] == "observation":
            conversations[-1]["value"] += f"\n{turn.content}"  # parallel calls: one observation
        else:
            conversations.append({"from": _FROM[turn.role], "value": turn.content})
    row: dict[str, Any] = {"conversations": conversations}
    if chat.tools:
        row["tools"] = json.dumps([tool["function"] for tool in chat.tools], ensure_ascii=False)
    yield row


@register_format
class ShareGPT(Format):
    """{"conversations": [{"from", "value"}], "tools": "<JSON>"}: calls as ``function_call``, results as
    ``observation``."""

    name = "sharegpt"
    drops = "text an agent wrote in the same message as its tool calls, and the call ids"

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        return sharegpt_rows(kept.chat, kept.loss)

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "tools": "tools"},
            "tags": {
                "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                "system_tag": "system", "function_tag": "function_call", "observation_tag": "observation",
            },
        }  # fmt: skip
        return entry | {"mask_history": True} if loss == "last" else entry

    def axolotl(self, path: Path) -> dict[str, Any]:
        return {
            "path": str(path),
            "type": "chat_template",
            "field_messages": "conversations",
            "message_property_mappings": {"role": "from", "content": "value"},
            "roles_to_train": ["gpt"],
            "roles": {"user": ["human"], "assistant": ["gpt"], "system": ["system"]},
        }
