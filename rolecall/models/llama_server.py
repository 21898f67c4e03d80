"""The embedded model's server: llama-cpp-python's, reporting usage when it streams.

OpenAI's protocol ends a stream with a usage chunk when asked (``stream_options.include_usage``);
llama-cpp-python's server never sends one, so a streamed reply would be recorded without its
tokens. This entry point (``python -m rolecall.models.llama_server``, same arguments as
``llama_cpp.server``) counts what ``Llama.generate`` is given and yields, exactly as the
non-streamed reply's usage counts them (the prompt's tokens, the tokens kept before the end
of generation), and sends that count in a last chunk. Nothing else changes.
"""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from typing import Any

import llama_cpp


class _Counted:
    """The tokens of the current generation: the prompt given to ``generate`` and the tokens it yielded."""

    prompt = 0
    completion = 0


def _counting_generate(generate: Any, counted: type[_Counted]) -> Any:
    def wrapper(self: llama_cpp.Llama, tokens: Any, *args: Any, **kwargs: Any) -> Iterator[int]:
        counted.prompt, counted.completion = len(tokens), 0
        for token in generate(self, tokens, *args, **kwargs):
            if not llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
                counted.completion += 1  # the end-of-generation token is not part of the reply
            yield token

    return wrapper


def _with_usage(create: Any, counted: type[_Counted]) -> Any:
    def wrapper(self: llama_cpp.Llama, *args: Any, **kwargs: Any) -> Any:
        result = create(self, *args, **kwargs)
        if not kwargs.get("stream"):
            return result

        def chunks() -> Iterator[dict[str, Any]]:
            last: dict[str, Any] = {}
            for chunk in result:
                last = chunk
                yield chunk
            usage = {"prompt_tokens": counted.prompt, "completion_tokens": counted.completion}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            head = {key: last.get(key) for key in ("id", "model", "created", "object")}
            yield {**head, "choices": [], "usage": usage}

        return chunks()

    return wrapper


def patch() -> None:
    """Make streamed chat completions end with a usage chunk."""
    llama_cpp.Llama.generate = _counting_generate(llama_cpp.Llama.generate, _Counted)  # type: ignore[method-assign]
    create = llama_cpp.Llama.create_chat_completion
    llama_cpp.Llama.create_chat_completion = _with_usage(create, _Counted)  # type: ignore[method-assign]


if __name__ == "__main__":
    patch()
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
