"""Fakes for testing agents and role-plays offline, shipped for users' own tests too.

* :class:`ScriptedModel` answers from a list, in order: the quickest way to pin a dialogue.
* :class:`FunctionModel` answers by calling a function of the messages: for replies that
  depend on what the agent was asked.
* :class:`FakeOpenAIServer` is a real OpenAI-compatible HTTP server on 127.0.0.1, for
  testing the whole network path (retries, faults, latency) without leaving the machine.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams, Usage
from rolecall.models.requests import allow

Reply = str | Completion | BaseException


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _completion(reply: str | Completion, messages: Sequence[ChatMessage], name: str) -> Completion:
    if isinstance(reply, Completion):
        return reply
    prompt = sum(_estimate_tokens(message["content"]) for message in messages)
    return Completion(
        text=reply,
        usage=Usage(prompt_tokens=prompt, completion_tokens=_estimate_tokens(reply)),
        finish_reason="stop",
        model=name,
        response_id=f"fake-{uuid.uuid4().hex[:12]}",
    )


class ScriptedModel(ChatModel):
    """Replies with the given texts in order; an exception in the list is raised instead.

    When the script runs out, the last reply repeats if ``repeat_last`` is set; otherwise
    an ``IndexError`` says so, which makes a test that talks too much fail loudly.
    """

    def __init__(self, replies: Iterable[Reply], *, name: str = "scripted", repeat_last: bool = False) -> None:
        self.name = name
        self.replies = list(replies)
        self.repeat_last = repeat_last
        self.calls: list[list[ChatMessage]] = []
        #: The sampling parameters of each call, beside :attr:`calls`.
        self.call_params: list[GenerationParams | None] = []

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        index = len(self.calls)
        self.calls.append(list(messages))
        self.call_params.append(params)
        if index >= len(self.replies):
            if not (self.repeat_last and self.replies):
                raise IndexError(f"{self.name}: the script has only {len(self.replies)} replies")
            index = len(self.replies) - 1
        reply = self.replies[index]
        if isinstance(reply, BaseException):
            raise reply
        return _completion(reply, messages, self.name)


class FunctionModel(ChatModel):
    """Replies with whatever ``function(messages)`` returns (a string or a Completion)."""

    def __init__(
        self, function: Callable[[Sequence[ChatMessage]], str | Completion], *, name: str = "function"
    ) -> None:
        self.name = name
        self.function = function
        self.calls: list[list[ChatMessage]] = []
        #: The sampling parameters of each call, beside :attr:`calls`.
        self.call_params: list[GenerationParams | None] = []

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        self.calls.append(list(messages))
        self.call_params.append(params)
        return _completion(self.function(messages), messages, self.name)


# -- a real HTTP server ----------------------------------------------------------------------


@dataclass
class FakeResponse:
    """How :class:`FakeOpenAIServer` answers one request.

    ``text`` becomes a normal chat completion, with ``tool_calls`` (``{"name", "arguments"}``
    each, arguments as an object or as raw text) when the model calls tools. Otherwise
    ``status`` with an error body, ``raw`` bytes sent as the body verbatim, or ``drop`` to
    close the connection unanswered.
    """

    text: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    drop: bool = False
    delay: float = 0.0
    finish_reason: str = "stop"
    #: When streamed: hang up after this many chunks, mid-reply.
    cut_stream_after: int | None = None


Responder = Callable[[dict[str, Any]], "str | FakeResponse"]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


class FakeOpenAIServer:
    """An OpenAI-compatible chat completions server on 127.0.0.1, run in a background thread.

    ``responder`` maps each request body to a reply; ``faults`` are served first, one per
    request, before the responder takes over; ``latency`` delays every answer. A request with
    ``stream: true`` is answered with server-sent events (``stream_delay`` between chunks).

    >>> with FakeOpenAIServer(lambda request: "Solution: 42") as server:   # doctest: +SKIP
    ...     model = OpenAIChatModel("fake", base_url=server.base_url)
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        faults: Iterable[FakeResponse] = (),
        latency: float = 0.0,
        model: str = "fake-model",
        stream_delay: float = 0.0,
    ) -> None:
        self.responder: Responder = responder or (lambda request: "Solution: done.\nNext request.")
        self.faults = list(faults)
        self.latency = latency
        self.model = model
        self.stream_delay = stream_delay  # between the chunks of a streamed reply
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.keep_bodies = True
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        allow(self.base_url)  # a server the test started: its requests are not refused
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread."""
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _next_reply(self, method: str, path: str, body: bytes) -> FakeResponse:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "rolecall"}]}
            return FakeResponse(raw=json.dumps(data).encode())
        if not path.rstrip("/").endswith("/chat/completions"):
            return FakeResponse(status=404, raw=b'{"error": {"message": "no such route"}}')
        request = json.loads(body or b"{}")
        with self._lock:
            self.requests += 1
            if self.keep_bodies:
                self.bodies.append(request)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault
        reply = self.responder(request)
        return reply if isinstance(reply, FakeResponse) else FakeResponse(text=reply)

    def _payload(self, reply: FakeResponse, request_body: bytes) -> bytes:
        if reply.raw is not None:
            return reply.raw
        if reply.status != 200:
            reason = _REASONS.get(reply.status, "error")
            return json.dumps({"error": {"message": reason, "type": "fake", "code": reply.status}}).encode()
        request = json.loads(request_body or b"{}")
        text = reply.text or ""
        message: dict[str, Any] = {"role": "assistant", "content": text or None if reply.tool_calls else text}
        finish_reason = reply.finish_reason
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": call["arguments"]
                        if isinstance(call.get("arguments"), str)
                        else json.dumps(call.get("arguments", {})),
                    },
                }
                for call in reply.tool_calls
            ]
            finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
        prompt_tokens = sum(_estimate_tokens(str(m.get("content") or "")) for m in request.get("messages", []))
        return json.dumps(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", self.model),
                "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": _estimate_tokens(text),
                    "total_tokens": prompt_tokens + _estimate_tokens(text),
                },
            }
        ).encode()

    async def _stream(
        self, writer: asyncio.StreamWriter, reply: dict[str, Any], request: dict[str, Any], cut: int | None
    ) -> None:
        """Send ``reply`` as server-sent events, a few characters per chunk, then close the connection.

        Tool calls arrive as OpenAI sends them: the id and name first, the arguments in two parts;
        usage comes in a last chunk only when the request asked for it (``stream_options``).
        """
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        message, head = reply["choices"][0]["message"], {key: reply[key] for key in ("id", "model", "created")}
        sent = 0

        async def send(delta: dict[str, Any], finish: str | None = None, **more: Any) -> None:
            nonlocal sent
            if cut is not None and sent >= cut:
                writer.transport.abort()
                raise ConnectionError("cut mid-stream, as asked")
            sent += 1
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            chunk = {**head, "object": "chat.completion.chunk", "choices": [choice], **more}
            writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            await writer.drain()
            if self.stream_delay:
                await asyncio.sleep(self.stream_delay)

        await send({"role": "assistant"})
        text = message.get("content") or ""
        for start in range(0, len(text), 4):
            await send({"content": text[start : start + 4]})
        for index, call in enumerate(message.get("tool_calls") or ()):
            name = {"name": call["function"]["name"]}
            await send({"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": name}]})
            arguments = call["function"]["arguments"]
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                await send({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        await send({}, reply["choices"][0]["finish_reason"])
        if (request.get("stream_options") or {}).get("include_usage"):
            chunk = {**head, "object": "chat.completion.chunk", "choices": [], "usage": reply["usage"]}
            writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, path, _ = request_line.decode("latin-1").split(" ", 2)
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                reply = self._next_reply(method, path, body)
                if reply.delay or self.latency:
                    await asyncio.sleep(reply.delay or self.latency)
                if reply.drop:
                    writer.transport.abort()
                    return
                payload = self._payload(reply, body)
                if reply.status == 200 and reply.raw is None and json.loads(body or b"{}").get("stream"):
                    await self._stream(writer, json.loads(payload), json.loads(body), reply.cut_stream_after)
                    return
                extra = "".join(f"{key}: {value}\r\n" for key, value in reply.headers.items())
                head = (
                    f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n{extra}\r\n"
                )
                writer.write(head.encode("latin-1") + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            pass  # a client gone, a garbled request, or the server shutting down: just hang up
        finally:
            writer.transport.abort()
