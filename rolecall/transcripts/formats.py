"""Training formats: one agent's chat turned into the rows each trainer reads.

``openai``   {"messages": [...]} with ``weight`` 0/1 on assistant messages
``sharegpt`` {"conversations": [{"from", "value"}]}, human and gpt alternating after system
``alpaca``   one row per trained turn: instruction, input, output, system, history
``trl``      {"messages": [...]} for TRL's language-modeling SFT
``trl-pc``   {"prompt": [...], "completion": [...]} for TRL's completion-only loss
``parquet``  the canonical record, flattened (see ``parquet.py``)

``loss`` says which of the trained agent's turns carry the loss: ``all`` of them, or only
the ``last`` (the rest become context).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from rolecall.transcripts.perspective import Chat

Loss = Literal["all", "last"]
FORMATS = ("openai", "sharegpt", "alpaca", "trl", "trl-pc", "parquet")
_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


def _trained(chat: Chat, loss: Loss) -> list[int]:
    indexes = chat.assistant_indexes()
    return indexes if loss == "all" else indexes[-1:]


def openai_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    trained = set(_trained(chat, loss))
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(chat.turns):
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.role == "assistant":
            message["weight"] = int(index in trained)
        messages.append(message)
    yield {"messages": messages}


def sharegpt_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    # ShareGPT carries no per-turn mask: "last" is LLaMA-Factory's mask_history (in dataset_info.json).
    yield {"conversations": [{"from": _SHAREGPT_FROM[turn.role], "value": turn.content} for turn in chat.turns]}


def trl_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    yield {"messages": [{"role": turn.role, "content": turn.content} for turn in chat.turns]}


def trl_prompt_completion_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    for index in _trained(chat, loss):
        yield {
            "prompt": [{"role": turn.role, "content": turn.content} for turn in chat.turns[:index]],
            "completion": [{"role": "assistant", "content": chat.turns[index].content}],
        }


def alpaca_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    pairs = [(chat.turns[index - 1].content, chat.turns[index].content) for index in chat.assistant_indexes()]
    for number, (instruction, output) in enumerate(pairs):
        if loss == "last" and number != len(pairs) - 1:
            continue
        yield {
            "instruction": instruction,
            "input": "",
            "output": output,
            "system": chat.system,
            "history": [list(pair) for pair in pairs[:number]],
        }


ROWS = {
    "openai": openai_rows,
    "sharegpt": sharegpt_rows,
    "alpaca": alpaca_rows,
    "trl": trl_rows,
    "trl-pc": trl_prompt_completion_rows,
}
