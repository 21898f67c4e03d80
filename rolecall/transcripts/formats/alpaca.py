"""The ``alpaca`` format: one row per trained answer, the exchanges before it as ``history``.

Each row is ``{"instruction", "input", "output", "system", "history"}``. Alpaca has no place
for tool turns, so calls and results are left out and only the answers are rows; which
answers are rows is chosen turn by turn, so the format trains per turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rolecall.transcripts.formats.base import Format, Kept, Loss, register_format
from rolecall.transcripts.perspective import Chat


def alpaca_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    """A row for each of ``chat``'s answers that carries the loss (``last``: the last of them only)."""
    kept = [(index, turn) for index, turn in enumerate(chat.turns) if turn.plain]  # no place for tool turns
    answers = [n for n, (_, turn) in enumerate(kept) if turn.role == "assistant" and n > 0]
    pairs = [(kept[n - 1][1].content, kept[n][1].content) for n in answers]
    trained = [number for number, n in enumerate(answers) if kept[n][0] not in chat.untrained]
    for number, (instruction, output) in enumerate(pairs):
        if number not in (trained if loss == "all" else trained[-1:]):
            continue
        yield {
            "instruction": instruction,
            "input": "",
            "output": output,
            "system": chat.system,
            "history": [list(pair) for pair in pairs[:number]],
        }


@register_format
class Alpaca(Format):
    """One row per trained answer: instruction, input, output, system, history (no tool turns)."""

    name = "alpaca"
    drops = "every tool call and result (only the answers are rows)"
    per_turn = True

    def rows(self, kept: Kept) -> Iterator[dict[str, Any]]:
        return alpaca_rows(kept.chat, kept.loss)

    def llama_factory(self, file_name: str, *, loss: str) -> dict[str, Any]:
        return {
            "file_name": file_name,
            "columns": {
                "prompt": "instruction", "query": "input", "response": "output",
                "system": "system", "history": "history",
            },
        }  # fmt: skip
