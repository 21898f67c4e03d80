"""The one interface every model speaks, so agents never care what sits behind it.

A ``ChatModel`` takes a list of chat messages and returns a ``Completion``: the text plus
everything a transcript needs to account for the call (usage, finish reason, latency,
model, response id, retries). Implementations write ``complete``; the sync path comes free.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from rolecall._checked import Checked
from rolecall._limits import MAX_REPLY_TOKENS


class ChatMessage(TypedDict):
    """One message as the chat completions protocol carries it (tool calls and results included)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: NotRequired[list[dict[str, Any]]]  # an assistant's calls, in the protocol's shape
    tool_call_id: NotRequired[str]  # a tool result: the call it answers


class ToolCall(BaseModel):
    """A model asking to run a tool: ``arguments`` as parsed JSON, or the raw text when it was not JSON."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        """This call as the chat completions protocol carries it (arguments as a JSON string)."""
        arguments = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": arguments}}

    def arguments_text(self) -> str:
        """The arguments as people read them: ``expression="3*2.4", digits=2`` (raw text when they were not JSON)."""
        if isinstance(self.arguments, str):
            return self.arguments
        return ", ".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in self.arguments.items())

    @classmethod
    def from_wire(cls, call: Any) -> ToolCall:
        """A call as the protocol carries it; arguments that are not a JSON object stay text (a guard reports them)."""
        function = call.get("function") or {}
        raw = function.get("arguments") or "{}"
        try:
            arguments: dict[str, Any] | str = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = raw
        if not isinstance(arguments, dict):
            arguments = str(raw)
        return cls(id=str(call.get("id") or ""), name=str(function.get("name") or ""), arguments=arguments)


class Usage(BaseModel):
    """Tokens spent by one call, or summed over many."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


#: How far apart the seeds of each kind of fresh draw are, so no two kinds share a seed.
SEED_STEPS = {"retry": 7919, "undo": 104_729, "candidate": 1_000_003}


def derived_seed(seed: int, purpose: str, number: int) -> int:
    """The seed of the ``number``-th fresh draw for ``purpose`` (a key of :data:`SEED_STEPS`), from ``seed``.

    The one rule every re-draw follows: the same prompt with the same seed draws the same reply,
    so a retry, a redraw after a person's undo and each extra candidate of a critic take seeds of
    their own, derived from the run's seed so that runs stay reproducible.
    """
    return (seed + SEED_STEPS[purpose] * number) % 2**32


class GenerationParams(Checked):
    """Sampling parameters passed through to the endpoint; ``extra`` goes verbatim."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_REPLY_TOKENS)
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**63)
    stop: list[str] | None = Field(default=None, max_length=16)
    #: A JSON Schema the reply must follow (constrained decoding where the server supports it).
    json_schema: dict[str, Any] | None = None
    #: Tools offered by function calling, in the protocol's shape, and whether the model may call them.
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["auto", "none", "required"] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def retry(self, attempt: int) -> GenerationParams | None:
        """What the ``attempt``-th try of the same request changes (None for the first): another draw.

        Asking again with the same seed and prompt draws the very same reply, so each retry
        takes another seed (derived from this one: runs stay reproducible) and a temperature
        0.3 higher per retry (from this one, or 0.7), capped at 1.3.
        """
        if attempt <= 1:
            return None
        base = self.temperature if self.temperature is not None else 0.7
        return GenerationParams(
            temperature=round(min(1.3, base + 0.3 * (attempt - 1)), 2),
            seed=None if self.seed is None else derived_seed(self.seed, "retry", attempt - 1),
        )

    def merged(self, override: GenerationParams | None) -> GenerationParams:
        """These parameters with every field ``override`` sets taken from it."""
        if override is None:
            return self
        fields = self.model_dump(exclude_unset=True) | override.model_dump(exclude_unset=True)
        return GenerationParams(**fields)


class Completion(BaseModel):
    """What one model call produced, with the facts a transcript records about it."""

    text: str
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    latency_ms: float = 0.0
    model: str | None = None
    response_id: str | None = None
    retries: int = 0
    #: The tools the model asked to run instead of (or beside) answering.
    tool_calls: list[ToolCall] = Field(default_factory=list)
    #: Milliseconds from the request to the first token, when the reply was streamed.
    first_token_ms: float | None = None


class ChatModel(ABC):
    """A chat model reachable through rolecall; subclasses implement :meth:`complete`."""

    #: The model name recorded in transcripts.
    name: str = "unknown"
    #: Context window in tokens, when known; agents fit their view into it.
    context_window: int | None = None
    #: How the server takes a JSON Schema: OpenAI's "json_schema" or llama.cpp's "json_object".
    schema_style: Literal["json_schema", "json_object"] = "json_schema"
    #: Whether this is rolecall's embedded model, whose settings defaults differ (``Settings.for_model``).
    embedded: bool = False
    #: Whether the endpoint takes OpenAI ``tools`` and answers with ``tool_calls``; otherwise tools are
    #: offered through a JSON Schema (``rolecall.tools.protocol``).
    function_calling: bool = True

    @abstractmethod
    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        """Return the model's reply to ``messages``."""

    def complete_sync(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        """Blocking form of :meth:`complete` for scripts without an event loop."""
        return asyncio.run(self.complete(messages, params=params))

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections; the default has nothing to release."""

    def describe(self) -> dict[str, Any]:
        """Facts about this model worth keeping in a transcript (never secrets)."""
        return {"name": self.name}
