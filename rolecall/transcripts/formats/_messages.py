"""What the formats of chat messages share: tools beside the messages, chat-template turns, trainer entries.

Private to this package (its name starts with ``_``, so the registry does not import it as a
format): the ``openai``, ``trl`` and ``trl-pc`` formats build on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rolecall.transcripts.perspective import Chat, Turn


def with_tools(row: dict[str, Any], chat: Chat) -> dict[str, Any]:
    """``row`` with the tools offered to the trained agent, when it was offered any."""
    return row | {"tools": chat.tools} if chat.tools else row


def chat_template_message(turn: Turn) -> dict[str, Any]:
    """A turn as Hugging Face chat templates (and so TRL) read it: arguments as objects, results named."""
    if turn.role == "tool":
        return {"role": "tool", "name": turn.tool, "content": turn.content}
    if turn.calls:
        calls = [{"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls]
        return {"role": "assistant", "content": turn.content, "tool_calls": calls}
    return {"role": turn.role, "content": turn.content}


def llama_factory_messages(file_name: str, *, loss: str) -> dict[str, Any]:
    """LLaMA-Factory's entry for rows of ``{"messages": [{"role", "content"}]}``."""
    entry: dict[str, Any] = {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {
            "role_tag": "role", "content_tag": "content", "user_tag": "user",
            "assistant_tag": "assistant", "system_tag": "system",
        },
    }  # fmt: skip
    return entry | {"mask_history": True} if loss == "last" else entry


def axolotl_messages(path: Path) -> dict[str, Any]:
    """Axolotl's ``chat_template`` entry for rows of ``{"messages": [{"role", "content"}]}``."""
    return {
        "path": str(path),
        "type": "chat_template",
        "field_messages": "messages",
        "message_property_mappings": {"role": "role", "content": "content"},
        "roles_to_train": ["assistant"],
    }
