"""The OpenAI-compatible client: the only module in rolecall that imports ``openai``.

Every endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio, hosted services) is reached
through the official SDK with its own retries switched off; transient failures are
retried here, once, with tenacity. Permanent failures become a ``ModelError`` whose
message says what to change.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from rolecall._lazy import lazy_module
from rolecall.errors import ModelError, ModelUnavailableError
from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams, ToolCall, Usage
from rolecall.models.requests import check_request
from rolecall.models.streaming import ChunkReader, Listener, listener

if TYPE_CHECKING:
    import openai
else:  # the SDK takes a third of a second to import: loaded on first use, so commands that never call a model
    openai = lazy_module("openai")  # (show, stats, view) start fast

log = logging.getLogger(__name__)

#: One call to the endpoint: the completion, and when the call started.
_Post: TypeAlias = "Callable[[openai.AsyncOpenAI, dict[str, Any]], Awaitable[tuple[Completion, float]]]"

_backoff = wait_exponential_jitter(multiplier=0.5, max=20.0, jitter=0.5)


def _is_transient(exc: BaseException) -> bool:
    """Worth another attempt: rate limits, server errors, timeouts, dropped or garbled replies."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError | openai.APIResponseValidationError | ValueError)


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds form)."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    header = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


def _wait(state: RetryCallState) -> float:
    asked = _retry_after(state.outcome.exception() if state.outcome else None)
    return min(asked, 60.0) if asked is not None else _backoff(state)


@dataclass(frozen=True)
class ModelDescription:
    """All it takes to open the same model elsewhere (another process, a Ray worker): plain, picklable data.

    The key is not part of it: the opener passes it (from its own environment).
    """

    name: str
    base_url: str | None
    timeout: float
    max_attempts: int
    params: dict[str, Any]
    context_window: int | None
    schema_style: Literal["json_schema", "json_object"]
    embedded: bool
    function_calling: bool = True

    def open(self, *, api_key: str | None = None) -> OpenAIChatModel:
        """A new client for the described model."""
        model = OpenAIChatModel(
            self.name, base_url=self.base_url, api_key=api_key, timeout=self.timeout, max_attempts=self.max_attempts,
            params=GenerationParams.model_validate(self.params),
        )  # fmt: skip
        model.context_window = self.context_window
        model.schema_style = self.schema_style
        model.embedded = self.embedded
        model.function_calling = self.function_calling
        return model


class OpenAIChatModel(ChatModel):
    """A chat model behind any OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``max_attempts`` bounds the calls per message (1 means no retry); ``timeout`` is per call.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_attempts: int = 5,
        params: GenerationParams | None = None,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.params = params or GenerationParams()
        self._api_key = api_key or "no-key-required"
        #: Raises when the server behind this model is known to be gone (the embedded server's
        #: ``LocalServer.check``): called when a call fails, so a dead process is said at once, never retried.
        self.server_check: Callable[[], None] | None = None
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.name!r}, base_url={self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        """The URL calls go to, for messages and transcripts."""
        return self.base_url or "https://api.openai.com/v1"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.endpoint}

    def description(self) -> ModelDescription:
        """This model as plain data, to open it again in another process (:meth:`ModelDescription.open`)."""
        return ModelDescription(
            name=self.name, base_url=self.base_url, timeout=self.timeout, max_attempts=self.max_attempts,
            params=self.params.model_dump(exclude_unset=True), context_window=self.context_window,
            schema_style=self.schema_style, embedded=self.embedded, function_calling=self.function_calling,
        )  # fmt: skip

    def _client_for_this_loop(self) -> openai.AsyncOpenAI:
        # An httpx pool belongs to the event loop that opened it; the sync path runs a new
        # loop per call, so a client is made per loop.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            )
            self._client_loop = loop
        return self._client

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        settings = self.params.merged(params)
        request: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            **settings.model_dump(exclude_none=True, exclude={"extra", "json_schema"}),
            **settings.extra,
        }
        if settings.json_schema is not None:
            request["response_format"] = self._response_format(settings.json_schema)
        check_request(self.endpoint)
        client = self._client_for_this_loop()
        watcher = listener()
        post = self._checked(self._post if watcher is None else self._streamer(watcher))
        attempts = 1
        try:
            try:  # the first try goes straight out: retry machinery costs time on every call
                completion, started = await post(client, request)
            except Exception as first:
                if self.max_attempts == 1 or not _is_transient(first):
                    raise
                asked = _retry_after(first)
                await asyncio.sleep(min(asked, 60.0) if asked is not None else 0.5 + random.random() / 2)
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.max_attempts - 1),
                    wait=_wait,
                    retry=retry_if_exception(_is_transient),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        completion, started = await post(client, request)
        except openai.APIStatusError as exc:
            raise self._explain(exc, attempts) from None
        except (openai.APIConnectionError, openai.APIResponseValidationError, ValueError) as exc:
            raise ModelUnavailableError(
                f"{self.endpoint} did not answer after {attempts} attempt(s) "
                f"({type(exc).__name__}: {exc}); check that the server is up, "
                "or point --base-url / OPENAI_BASE_URL elsewhere"
            ) from None
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return completion.model_copy(
            update={"latency_ms": latency_ms, "retries": attempts - 1, "model": completion.model or self.name}
        )

    def _checked(self, post: _Post) -> _Post:
        """``post``, asking :attr:`server_check` whether the server is gone whenever a call fails."""
        check = self.server_check
        if check is None:
            return post

        async def checked(client: openai.AsyncOpenAI, request: dict[str, Any]) -> tuple[Completion, float]:
            try:
                return await post(client, request)
            except (openai.APIConnectionError, ValueError):  # what a dead server looks like from here
                check()  # raises LocalModelError (not transient: never retried) if the server died
                raise

        return checked

    @staticmethod
    async def _post(client: openai.AsyncOpenAI, request: dict[str, Any]) -> tuple[Completion, float]:
        """One call, and when it started.

        Through the SDK's generic ``post`` (its HTTP client, status errors and timeouts): the body is
        plain JSON already, which skips the typed-params transform, and the reply is read as plain
        JSON into a :class:`Completion`, which skips building the SDK's response objects. A reply
        that is not a chat completion is a ``ValueError``, retried like a garbled body.
        """
        started = time.perf_counter()
        data = await client.post("/chat/completions", body=request, cast_to=dict)
        return _completion(data), started

    @staticmethod
    def _streamer(watcher: Listener) -> _Post:
        """A :meth:`_post` that streams the reply to ``watcher`` and returns the same :class:`Completion`.

        Usage is asked for in the stream's last chunk (``stream_options.include_usage``); the
        embedded server reports it there too.
        """

        async def stream(client: openai.AsyncOpenAI, request: dict[str, Any]) -> tuple[Completion, float]:
            body = {**request, "stream": True, "stream_options": {"include_usage": True}}
            watcher.started()
            started = time.perf_counter()
            chunks = await client.post(
                "/chat/completions", body=body, cast_to=dict, stream=True, stream_cls=openai.AsyncStream[dict[str, Any]]
            )
            reader = ChunkReader(started)
            try:
                async for chunk in chunks:
                    if text := reader.feed(chunk):
                        watcher.token(text)
            except Exception as exc:  # the connection broke mid-reply (the SDK's HTTP library's own errors)
                raise ValueError(f"the stream broke off ({type(exc).__name__})") from None  # retried, as garbled
            completion = reader.completion()
            if completion.finish_reason is None:  # every reply ends with its finish reason; this one was cut
                raise ValueError("the stream ended before the reply did")
            return completion, started

        return stream

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.schema_style == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}

    def _explain(self, exc: openai.APIStatusError, attempts: int) -> Exception:
        """Turn an HTTP failure into an error that says what to do about it."""
        detail = _short(exc)
        where = self.endpoint
        if _is_transient(exc):
            return ModelUnavailableError(
                f"{where} kept failing (HTTP {exc.status_code}) after {attempts} attempt(s): {detail}"
            )
        if exc.status_code == 401:
            return ModelError(f"{where} rejected the API key (HTTP 401): set OPENAI_API_KEY to a valid key")
        if exc.status_code == 403:
            return ModelError(f"{where} refused access (HTTP 403): check the key's permissions: {detail}")
        if exc.status_code == 404:
            return ModelError(
                f"{where} has no model {self.name!r} (HTTP 404): choose another with --model "
                f"or ROLECALL_MODEL, and check the base URL ends in /v1: {detail}"
            )
        return ModelError(f"{where} rejected the request (HTTP {exc.status_code}): {detail}")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def complete_sync(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        async def complete_and_close() -> Completion:
            try:
                return await self.complete(messages, params=params)
            finally:
                await self.aclose()  # the connection pool dies with this event loop

        return asyncio.run(complete_and_close())


def _completion(data: Any) -> Completion:
    """A chat completion's JSON as a :class:`Completion` (latency and retries are the caller's to add)."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
        text = message.get("content") or ""
        usage = data.get("usage") or {}
        if not isinstance(text, str):
            raise TypeError(f"content is {type(text).__name__}")
        return Completion(
            text=text,
            tool_calls=[ToolCall.from_wire(call) for call in message.get("tool_calls") or ()],
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
            finish_reason=choice.get("finish_reason"),
            model=data.get("model"),
            response_id=data.get("id"),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValidationError) as exc:
        raise ValueError(f"the reply is not a chat completion ({type(exc).__name__}: {exc})") from None


def _short(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error", {})
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)[:200]
    return str(exc.message)[:200]
