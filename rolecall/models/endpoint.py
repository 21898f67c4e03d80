"""Which model to talk to: flag, then environment, then spec; the embedded model otherwise.

``open_model`` is the one door every entry point goes through, so the CLI, the Python API
and batches resolve endpoints the same way and the embedded server is always stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from rolecall._secrets import remember
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer
from rolecall.models.openai_compat import OpenAIChatModel

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
#: The longest reply the embedded model writes unless a spec's ``params.max_tokens`` says otherwise.
EMBEDDED_REPLY_TOKENS = 512


@dataclass(frozen=True)
class Endpoint:
    """A resolved endpoint. ``base_url`` None with no key means: run the embedded model."""

    base_url: str | None
    model: str | None
    api_key: str | None

    @property
    def is_embedded(self) -> bool:
        return self.base_url is None and self.api_key is None

    def __repr__(self) -> str:  # the key never appears in a repr, a log line or a transcript
        return f"Endpoint(base_url={self.base_url!r}, model={self.model!r})"


def resolve_endpoint(
    *,
    base_url: str | None = None,
    model: str | None = None,
    spec_base_url: str | None = None,
    spec_model: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Apply flag > environment (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``ROLECALL_MODEL``) > spec."""
    env = os.environ if environ is None else environ
    remember(env.get("OPENAI_API_KEY"))
    return Endpoint(
        base_url=base_url or env.get("OPENAI_BASE_URL") or spec_base_url or None,
        model=model or env.get("ROLECALL_MODEL") or spec_model or None,
        api_key=env.get("OPENAI_API_KEY") or None,
    )


@contextmanager
def open_model(
    endpoint: Endpoint | None = None,
    *,
    params: GenerationParams | None = None,
    max_attempts: int = 5,
    timeout: float = 120.0,
) -> Iterator[ChatModel]:
    """Yield a ready model for ``endpoint`` (resolved from the environment when None).

    With no endpoint configured, the embedded SmolLM2 server runs for the duration of the
    ``with`` block and is stopped on the way out, whatever the way out is.
    """
    endpoint = endpoint or resolve_endpoint()
    if not endpoint.is_embedded:
        model = OpenAIChatModel(
            endpoint.model or DEFAULT_OPENAI_MODEL,
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            params=params,
            max_attempts=max_attempts,
            timeout=timeout,
        )
        if model.name == LOCAL_MODEL_NAME:  # the embedded model served elsewhere (`rolecall serve`)
            as_embedded(model, LocalServer.DEFAULT_N_CTX)
        yield model
        return
    with LocalServer() as server:
        model = OpenAIChatModel(
            LOCAL_MODEL_NAME,
            base_url=server.base_url,
            params=params,
            max_attempts=max_attempts,
            timeout=timeout,
        )
        model.server_check = server.check  # a crashed server is one line at once, never five retries
        yield as_embedded(model, server.n_ctx)


def as_embedded(model: OpenAIChatModel, context_window: int) -> OpenAIChatModel:
    """Mark ``model`` as the embedded SmolLM2 on llama.cpp: its window, its schema style, its defaults."""
    model.context_window = context_window
    # A reply with no limit of its own stops at the length the agents' context fitting assumes: a 135M model
    # left to run fills its window, and the next prompt, which must hold that reply, would not fit.
    model.params = GenerationParams(max_tokens=EMBEDDED_REPLY_TOKENS).merged(model.params)
    model.schema_style = "json_object"  # llama.cpp's servers take a schema inside json_object
    model.embedded = True
    model.function_calling = False  # SmolLM2's chat template has no tools: they are offered by JSON Schema
    return model
