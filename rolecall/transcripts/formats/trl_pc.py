"""The ``trl-pc`` format: prompt and completion rows, for TRL's completion-only loss.

Each row is ``{"prompt": [...], "completion": [...], "tools": [...]}``: one row for each of
the trained agent's turns that carries the loss, the chat before it as the prompt. The rows
are chosen turn by turn, so the format trains per turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rolecall.transcripts.formats._messages import chat_template_message, with_tools
from rolecall.transcripts.formats.base import Format, Kept, Loss, register_format, trained_turns
from rolecall.transcripts.perspective import Chat


def trl_prompt_completion_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    """A row for each of ``chat``'s turns that carries the loss: the chat before it, and the turn."""
    for index in trained_turns(chat, loss):
        row = {
            "prompt": [chat_template_message(turn) for turn in chat.turns[:index]],
            "completion": [chat_template_message(chat.turns[index])],
        }
        yield with_tools(row, chat)


@register_format
class TRLPromptCompletion(Format):
    """{"prompt": [...], "completion": [...], "tools": [...]}: TRL's prompt-completion rows, one per trained turn."""

    name = "trl-pc"
    drops = "nothing"
    per_turn = True

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        return trl_prompt_completion_rows(kept.chat, kept.loss)
