"""What the offline judge reads of a turn: the embedded model's hidden states over it, in its context.

The turn is written after its context ("Task: ... Request: ... Answer: <the turn>") and
SmolLM2 reads the whole; the hidden states of the turn's own tokens have each seen the task and
the instruction, so their mean says what the turn is about *given* what it should be about. The
turn read alone and the task read alone add how near the two are. A few word-count signals (the
lexical judge's reason, length, how much is copied) come beside them; they are cheap and catch
what a mean of states blurs (an exact copy, an empty field).

The states come from llama.cpp's server in embedding mode (``--embeddings --pooling none``): one
request per text, each token's final hidden state.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rolecall.errors import LocalModelError, one_line
from rolecall.judges.base import TurnInContext
from rolecall.text import containment, normalize
from rolecall.transcripts.content import REASONS, problem

States = NDArray[np.float32]
#: Characters of each part of the context, and of the turn, the model reads.
CONTEXT_CHARS = 600
TURN_CHARS = 1500
#: The content checks' reasons, in a fixed order: one indicator each.
LEXICAL_REASONS = tuple(REASONS)
_NO_DONE = "\x00no-done-token\x00"


def context_prompt(turn: TurnInContext) -> str:
    """What the model reads before the turn: the task and what the turn answers (or follows)."""
    context = turn.context
    if turn.side == "assistant":
        return f"Task: {context.task}\nRequest: {(context.last_instruction or '')[:CONTEXT_CHARS]}\nAnswer:"
    return f"Task: {context.task}\nPrevious answer: {(context.last_solution or '')[:CONTEXT_CHARS]}\nNext request:"


def lexical_features(turn: TurnInContext) -> list[float]:
    """Cheap signals: the content checks' verdict, the field's length, and how much of it is copied."""
    field = turn.field
    words = len(normalize(field))
    reason = problem(turn.text, turn.side, turn.context, _NO_DONE)
    copied = containment(field, turn.context.last_instruction or "") if field else 0.0
    task = containment(field, turn.context.task) if field else 0.0
    earlier = max((containment(field, text) for text in turn.context.instructions), default=0.0) if field else 0.0
    return [
        *(float(reason == name) for name in LEXICAL_REASONS),
        math.log1p(words),
        float(words < 4),
        copied,
        task,
        earlier,
    ]


def _cosine(a: States, b: States) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


class HiddenStates:
    """A client of llama.cpp's server in embedding mode: each token's final hidden state for a text."""

    def __init__(self, url: str, *, concurrency: int = 2, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/").removesuffix("/v1")
        self.timeout = timeout
        self._gate = asyncio.Semaphore(concurrency)
        self._task_states: dict[str, States] = {}

    def _post_now(self, path: str, body: dict[str, object]) -> object:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except (OSError, ValueError) as exc:  # refused, reset, an HTTP error, garbled
            raise LocalModelError(f"the judge's model server at {self.url} failed: {one_line(str(exc))}") from None

    async def _post(self, path: str, body: dict[str, object]) -> object:
        async with self._gate:  # the server decodes this many texts at once
            return await asyncio.to_thread(self._post_now, path, body)

    async def count(self, text: str) -> int:
        """How many tokens ``text`` is (as the server tokenizes it, with the start token it adds)."""
        answer = await self._post("/tokenize", {"content": text, "add_special": True})
        return len(answer["tokens"]) if isinstance(answer, dict) else 0

    async def states(self, text: str) -> States:
        """One row per token of ``text``: its final hidden state."""
        answer = await self._post("/embeddings", {"content": text})
        rows = answer[0]["embedding"] if isinstance(answer, list) and answer else None
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], list):
            raise LocalModelError(
                f"the judge's model server at {self.url} did not return per-token states (start it with "
                "--embeddings --pooling none)"
            )
        return np.asarray(rows, dtype=np.float32)

    async def task_states(self, task: str) -> States:
        if task not in self._task_states:
            self._task_states[task] = (await self.states(f"Task: {task}")).mean(axis=0)
        return self._task_states[task]

    async def features(self, turn: TurnInContext) -> NDArray[np.float64]:
        """The turn's feature row: states in context, states alone, nearness to the task, lexical signals."""
        field = turn.field[:TURN_CHARS] or "(nothing)"
        prefix = context_prompt(turn)
        prefix_tokens, in_context, alone, task = await asyncio.gather(
            self.count(prefix),
            self.states(f"{prefix} {field}"),
            self.states(field),
            self.task_states(turn.context.task),
        )
        own = in_context[prefix_tokens:] if len(in_context) > prefix_tokens else in_context[-1:]
        span, by_itself = own.mean(axis=0), alone.mean(axis=0)
        nearness = [_cosine(by_itself, task), _cosine(span, task)]
        return np.concatenate([span, by_itself, nearness, lexical_features(turn)]).astype(np.float64)

    async def matrix(self, turns: Sequence[TurnInContext]) -> NDArray[np.float64]:
        rows = await asyncio.gather(*(self.features(turn) for turn in turns))
        return np.vstack(rows) if rows else np.zeros((0, 0))
