"""Replies as they are generated: who listens for tokens, and how streamed chunks become one reply.

Streaming is for people watching; it must not change what is recorded. A caller that wants
tokens (the CLI's live view) installs a :class:`Listener` with :func:`listening`; a model
that can stream checks :func:`listener` and, when one is set, asks its endpoint for
server-sent events and feeds each text delta to it. :class:`ChunkReader` rebuilds the very
:class:`Completion` the non-streamed call would have returned (text, tool calls, finish
reason, usage from the stream's last chunk), plus the time to the first token. Nothing is
installed by default, so batches and ``--quiet`` runs take the plain path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from rolecall.models.base import Completion, ToolCall, Usage


class Listener(Protocol):
    """Who watches a reply being written."""

    def started(self) -> None:
        """A call went out (again, on a retry: forget the text of the earlier try)."""

    def token(self, text: str) -> None:
        """The next piece of the reply's text."""


_current: ContextVar[Listener | None] = ContextVar("rolecall_stream_listener", default=None)


def listener() -> Listener | None:
    """The listener of the reply being drafted in this context, if anyone is watching."""
    return _current.get()


@contextmanager
def listening(watcher: Listener | None) -> Iterator[None]:
    """Stream the model calls made inside the block to ``watcher`` (``None``: do not stream)."""
    token = _current.set(watcher)
    try:
        yield
    finally:
        _current.reset(token)


class ChunkReader:
    """Assembles a streamed chat completion from its chunks (the JSON of each server-sent event)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_token_ms: float | None = None
        self._text: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._model: str | None = None
        self._id: str | None = None

    def feed(self, chunk: Any) -> str:
        """Take one chunk; return the text it adds (empty when it adds none)."""
        if not isinstance(chunk, dict):
            raise ValueError(f"a streamed chunk is not an object: {chunk!r:.80}")
        self._model = self._model or chunk.get("model")
        self._id = self._id or chunk.get("id")
        if isinstance(usage := chunk.get("usage"), dict):
            self._usage = Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            )
        added = ""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                added += text
            for call in delta.get("tool_calls") or ():
                self._add_call(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        if (added or delta_has_calls(chunk)) and self.first_token_ms is None:
            self.first_token_ms = round((time.perf_counter() - self.started) * 1000, 3)
        self._text.append(added)
        return added

    def _add_call(self, call: dict[str, Any]) -> None:
        """Tool calls arrive in pieces keyed by index: the id and name once, the arguments in parts."""
        slot = self._calls.setdefault(int(call.get("index") or 0), {"id": "", "name": "", "arguments": ""})
        slot["id"] = slot["id"] or str(call.get("id") or "")
        function = call.get("function") or {}
        slot["name"] += str(function.get("name") or "")
        slot["arguments"] += str(function.get("arguments") or "")

    def completion(self) -> Completion:
        """The reply the stream carried, as the non-streamed call would have returned it."""
        calls = [
            {"id": slot["id"], "function": {"name": slot["name"], "arguments": slot["arguments"]}}
            for _, slot in sorted(self._calls.items())
        ]
        return Completion(
            text="".join(self._text),
            tool_calls=[ToolCall.from_wire(call) for call in calls],
            usage=self._usage or Usage(),
            finish_reason=self._finish_reason,
            model=self._model,
            response_id=self._id,
            first_token_ms=self.first_token_ms,
        )


def delta_has_calls(chunk: dict[str, Any]) -> bool:
    """Whether a chunk carries a piece of a tool call (the first of those also counts as the first token)."""
    return any((choice.get("delta") or {}).get("tool_calls") for choice in chunk.get("choices") or ())
