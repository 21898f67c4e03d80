"""Training formats: one agent's chat turned into the rows each trainer reads.

``openai``   {"messages": [...], "tools": [...]} with ``weight`` 0/1 on assistant messages;
             tool calls as ``tool_calls`` (arguments a JSON string), results as ``tool`` messages
``sharegpt`` {"conversations": [{"from", "value"}], "tools": "<JSON>"}: human and gpt alternating
             after system; a call is a ``function_call`` turn, its result an ``observation``
``alpaca``   one row per trained answer: instruction, input, output, system, history (no tool turns)
``trl``      {"messages": [...], "tools": [...]} for TRL's language-modeling SFT; calls as
             ``tool_calls`` with arguments as objects, as chat templates expect
``trl-pc``   {"prompt": [...], "completion": [...], "tools": [...]} for TRL's completion-only loss
``parquet``  the canonical record, flattened (see ``parquet.py``)
``dpo``      {"prompt": [...], "chosen": [...], "rejected": [...], "source"}: TRL's conversational
             preference pairs, from rejected drafts and the critic's choices (see ``preferences.py``)

``loss`` says which of the trained agent's turns carry the loss: ``all`` of them, or only
the ``last`` (the rest become context). A turn that calls tools is a trained turn: the model
learns to call. What a format has no place for is listed in :data:`DROPPED`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from rolecall.transcripts.perspective import Chat, Turn

Loss = Literal["all", "last"]
FORMATS = ("openai", "sharegpt", "alpaca", "trl", "trl-pc", "parquet", "dpo")
_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}

#: What each format leaves out of a conversation with tool calls (the dataset card repeats it).
DROPPED = {
    "openai": "nothing",
    "sharegpt": "text an agent wrote in the same message as its tool calls, and the call ids",
    "alpaca": "every tool call and result (only the answers are rows)",
    "trl": "nothing",
    "trl-pc": "nothing",
    "parquet": "nothing (the whole record)",
    "dpo": "every turn that no guard or critic judged (only pairs are rows); tool calls and results",
}


def _trained(chat: Chat, loss: Loss) -> list[int]:
    indexes = chat.trained_indexes()
    return indexes if loss == "all" else indexes[-1:]


def _with_tools(row: dict[str, Any], chat: Chat) -> dict[str, Any]:
    return row | {"tools": chat.tools} if chat.tools else row


def _openai_message(turn: Turn) -> dict[str, Any]:
    if turn.role == "tool":
        return {"role": "tool", "tool_call_id": turn.call_id, "content": turn.content}
    if turn.calls:
        message: dict[str, Any] = {"role": "assistant", "tool_calls": [call.wire() for call in turn.calls]}
        return {"content": turn.content, **message} if turn.content else message
    return {"role": turn.role, "content": turn.content}


def _chat_template_message(turn: Turn) -> dict[str, Any]:
    """A turn as Hugging Face chat templates (and so TRL) read it: arguments as objects, results named."""
    if turn.role == "tool":
        return {"role": "tool", "name": turn.tool, "content": turn.content}
    if turn.calls:
        calls = [{"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls]
        return {"role": "assistant", "content": turn.content, "tool_calls": calls}
    return {"role": turn.role, "content": turn.content}


def openai_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    trained = set(_trained(chat, loss))
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(chat.turns):
        message = _openai_message(turn)
        if turn.role == "assistant":
            message["weight"] = int(index in trained)
        messages.append(message)
    yield _with_tools({"messages": messages}, chat)


def sharegpt_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    # ShareGPT carries no per-turn mask: "last" is LLaMA-Factory's mask_history (in dataset_info.json).
    conversations: list[dict[str, str]] = []
    for turn in chat.turns:
        if turn.calls:
            calls = [{"name": call.name, "arguments": call.arguments} for call in turn.calls]
            value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
            conversations.append({"from": "function_call", "value": value})
        elif turn.role == "tool" and conversations and conversations[-1]["from"] == "observation":
            conversations[-1]["value"] += f"\n{turn.content}"  # parallel calls: one observation
        else:
            conversations.append({"from": _SHAREGPT_FROM[turn.role], "value": turn.content})
    row: dict[str, Any] = {"conversations": conversations}
    if chat.tools:
        row["tools"] = json.dumps([tool["function"] for tool in chat.tools], ensure_ascii=False)
    yield row


def trl_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    yield _with_tools({"messages": [_chat_template_message(turn) for turn in chat.turns]}, chat)


def trl_prompt_completion_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
    for index in _trained(chat, loss):
        row = {
            "prompt": [_chat_template_message(turn) for turn in chat.turns[:index]],
            "completion": [_chat_template_message(chat.turns[index])],
        }
        yield _with_tools(row, chat)


def alpaca_rows(chat: Chat, loss: Loss) -> Iterator[dict[str, Any]]:
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


ROWS = {
    "openai": openai_rows,
    "sharegpt": sharegpt_rows,
    "alpaca": alpaca_rows,
    "trl": trl_rows,
    "trl-pc": trl_prompt_completion_rows,
}
