"""What the offline judge reads of a turn: the embedded model's hidden states and likelihoods over it.

The turn is written after its context ("Task: ... Request: ... Answer: <the turn>") and read
by SmolLM2; the hidden states of the turn's own tokens have each seen the task and the
instruction, so their mean says what the turn is about *given* what it should be about. The
turn is read again after a neutral prefix, alone. Times the model's output embeddings (read
from its GGUF file), each state gives the next token's probability, so the two readings also
say how much the context raises the turn's likelihood: a reply about another task, a
platitude or gibberish gains little from the task it should serve. A third reading puts the
task after the turn: a turn about this task makes it likely. A few word-count signals (the
lexical judge's reason, length, how much is copied) come beside them; they are cheap and
catch what a mean of states blurs (an exact copy, an empty field).

The states come from llama.cpp's server in embedding mode (``--embeddings --pooling none``): each
request returns every token's final hidden state (after the model's last norm).
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rolecall._text import containment, normalize
from rolecall.errors import LocalModelError, one_line
from rolecall.judges.base import LoopGates, TurnInContext
from rolecall.judges.lexical import word_count_reason
from rolecall.models.requests import check_request
from rolecall.transcripts.content import REASONS

States = NDArray[np.float32]
#: Characters of each part of the context, and of the turn, the model reads.
CONTEXT_CHARS = 600
TURN_CHARS = 1500
#: Tokens of a turn whose likelihood is read (its opening says what it is about; the rest costs time).
LIKELIHOOD_TOKENS = 64
#: What a turn is read after when it is read alone: no task, no instruction.
NEUTRAL = "Text:"
#: The content checks' reasons, in a fixed order: one indicator each.
LEXICAL_REASONS = tuple(REASONS)


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
    reason = word_count_reason(turn)
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


def by_side(row: NDArray[np.float64], side: str) -> NDArray[np.float64]:
    """``row``, then whether the turn is the instructor's, then ``row`` again for the instructor only: one linear
    model then weighs each feature apart for each side (an instruction and a solution are on task for different
    reasons)."""
    instructor = float(side == "user")
    return np.concatenate([row, [instructor], row * instructor])


def likelihood_features(in_context: NDArray[np.float64], alone: NDArray[np.float64]) -> list[float]:
    """How likely the turn's tokens are in its context and alone, and how much the context raises them: a reply
    about another task, or gibberish, gains nothing from the task it should serve."""
    count = min(len(in_context), len(alone))
    if count == 0:
        return [0.0] * 6
    gain = in_context[:count] - alone[:count]
    head = gain[: min(count, 24)]
    return [
        float(in_context.mean()), float(alone.mean()), float(gain.mean()), float((gain > 0).mean()),
        float(head.mean()), float(np.median(gain)),
    ]  # fmt: skip


def _cosine(a: States, b: States) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


class TokenEmbeddings:
    """The model's output embeddings (SmolLM2 ties them to its input embeddings), read from its GGUF file: a
    final hidden state times them gives the next token's logits."""

    def __init__(self, matrix: NDArray[np.float32]) -> None:
        self.matrix = matrix

    @classmethod
    def of(cls, gguf_file: Path) -> TokenEmbeddings:
        try:
            import gguf  # the gguf package reads and dequantizes llama.cpp's files (numpy only)
        except ImportError:
            raise LocalModelError("the probe judge needs the gguf package: pip install 'rolecall[local]'") from None
        reader = gguf.GGUFReader(str(gguf_file))
        tensors = {tensor.name: tensor for tensor in reader.tensors}
        tensor = tensors.get("output.weight") or tensors.get("token_embd.weight")
        if tensor is None:
            raise LocalModelError(f"{gguf_file}: no output or token embeddings")
        matrix = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        return cls(np.ascontiguousarray(matrix, dtype=np.float32))

    def log_probabilities(self, states: States, tokens: Sequence[int]) -> NDArray[np.float64]:
        """log P(token i | the text before it), from the state of the position before each token."""
        logits = states @ self.matrix.T
        logits -= logits.max(axis=1, keepdims=True)
        norm = np.log(np.exp(logits).sum(axis=1))
        chosen: NDArray[np.float64] = (logits[np.arange(len(tokens)), tokens] - norm).astype(np.float64)
        return chosen


class HiddenStates:
    """A client of llama.cpp's server in embedding mode: each token's final hidden state for a text."""

    def __init__(
        self, url: str, *, embeddings: TokenEmbeddings | None = None, concurrency: int = 2, timeout: float = 120.0
    ) -> None:
        """``embeddings`` (the served model's output embeddings) turn states into likelihoods; without them the
        likelihood features are zero."""
        self.url = url.rstrip("/").removesuffix("/v1")
        self.embeddings = embeddings
        self.timeout = timeout
        self._gates = LoopGates(concurrency)
        self._task_states: dict[str, States] = {}
        self._task_prior: dict[str, float] = {}

    def _post_now(self, path: str, body: dict[str, object]) -> object:
        check_request(self.url)
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except (OSError, ValueError) as exc:  # refused, reset, an HTTP error, garbled
            raise LocalModelError(f"the judge's model server at {self.url} failed: {one_line(str(exc))}") from None

    async def _post(self, path: str, body: dict[str, object]) -> object:
        async with self._gates.gate():  # the server decodes this many texts at once
            return await asyncio.to_thread(self._post_now, path, body)

    async def tokens(self, text: str) -> list[int]:
        """The token ids of ``text`` as the server reads it (with the start token it adds)."""
        answer = await self._post("/tokenize", {"content": text, "add_special": True})
        found = answer.get("tokens") if isinstance(answer, dict) else None
        return [int(token) for token in found] if isinstance(found, list) else []

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

    async def task_likelihood(self, before: str, task: str) -> float:
        """Mean log-probability of the task's words read after ``before``."""
        prefix = f"{before}\nThe task this is part of:"
        head, tokens, states = await asyncio.gather(
            self.tokens(prefix), self.tokens(f"{prefix} {task}"), self.states(f"{prefix} {task}")
        )
        if self.embeddings is None or len(tokens) != len(states) or len(tokens) <= len(head):
            return 0.0
        start = max(1, len(head))
        return float(self.embeddings.log_probabilities(states[start - 1 : -1], tokens[start:]).mean())

    async def task_gain(self, field: str, task: str) -> list[float]:
        """How much more likely the task becomes once the turn is read: a turn about another task predicts its own
        task, not this one."""
        if task not in self._task_prior:
            self._task_prior[task] = await self.task_likelihood("Text:", task)
        after = await self.task_likelihood(field[:CONTEXT_CHARS], task)
        return [after, after - self._task_prior[task]]

    async def task_states(self, task: str) -> States:
        if task not in self._task_states:
            self._task_states[task] = (await self.states(f"Task: {task}")).mean(axis=0)
        return self._task_states[task]

    async def read(self, prefix: str, field: str) -> tuple[States, NDArray[np.float64]]:
        """The field's tokens read after ``prefix``: their hidden states, and each one's log-probability."""
        before, tokens, states = await asyncio.gather(
            self.tokens(prefix), self.tokens(f"{prefix} {field}"), self.states(f"{prefix} {field}")
        )
        start = max(1, min(len(before), len(states) - 1))
        own = states[start:] if len(states) > start else states[-1:]
        if self.embeddings is None or len(tokens) != len(states):
            return own, np.zeros(1)
        # the state at position i predicts token i + 1; the turn's first tokens say enough of what it is about
        end = min(len(tokens), start + LIKELIHOOD_TOKENS)
        return own, self.embeddings.log_probabilities(states[start - 1 : end - 1], tokens[start:end])

    async def features(self, turn: TurnInContext) -> NDArray[np.float64]:
        """The turn's feature row: states in context and read alone, nearness to the task, how much the context
        raises the turn's likelihood, and lexical signals."""
        field = turn.field[:TURN_CHARS] or "(nothing)"
        (span, in_context), (alone, by_itself), task, gain = await asyncio.gather(
            self.read(context_prompt(turn), field),
            self.read(NEUTRAL, field),
            self.task_states(turn.context.task),
            self.task_gain(field, turn.context.task),
        )
        mean_span, mean_alone = span.mean(axis=0), alone.mean(axis=0)
        nearness = [_cosine(mean_alone, task), _cosine(mean_span, task)]
        likely = likelihood_features(in_context, by_itself)
        row = np.concatenate([mean_span, mean_alone, nearness, likely, gain, lexical_features(turn)])
        return by_side(row.astype(np.float64), turn.side)

    async def matrix(self, turns: Sequence[TurnInContext]) -> NDArray[np.float64]:
        rows = await asyncio.gather(*(self.features(turn) for turn in turns))
        return np.vstack(rows) if rows else np.zeros((0, 0))
