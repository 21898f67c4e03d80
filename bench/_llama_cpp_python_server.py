"""The embedded model's previous server, kept as the "before" side of bench/embedded.py.

Until llama.cpp's own server replaced it (rolecall/models/local.py), rolecall ran
llama-cpp-python's server through this entry point (``python bench/_llama_cpp_python_server.py``,
the arguments of ``llama_cpp.server``; it needs llama-cpp-python, which ``make bench-embedded``
installs). It changes two things before it runs that server, both of which llama.cpp's own
server does by itself:

* **Usage when streaming.** OpenAI's protocol ends a stream with a usage chunk when asked
  (``stream_options.include_usage``); llama-cpp-python's server never sends one. The tokens
  ``Llama.generate`` is given and yields are counted, as the non-streamed reply counts them,
  and sent in a last chunk.
* **The grammar checks the sampled token first.** Under a JSON Schema, llama-cpp-python runs
  the grammar over all 49,152 candidates at every step, which halves the embedded model's
  writing speed. As llama.cpp's own server does, a token is drawn without the grammar and
  checked against it; only when the grammar rejects it is the step drawn again from the
  constrained candidates. Every reply still follows the schema; a seeded reply is drawn from
  the same constrained choices but by other random draws, so it differs from one drawn by
  llama-cpp-python's own sampler (``--no-grammar-first`` keeps that one).
"""

from __future__ import annotations

import ctypes
import math
import runpy
import sys
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


class GrammarFirst:
    """A sampler that draws freely, checks the draw against the grammar, and falls back to the constrained draw.

    Three llama.cpp samplers are kept in step: the free chain, the constrained chain (the free
    one with the grammar in it, as llama-cpp-python builds it) and the grammar alone, which
    checks one token. Whichever chain draws accepts its token itself; the others are told (so
    after a fallback the free chain's penalty window holds the rejected draw too; repetition
    penalties are off unless a request asks for them).
    """

    def __init__(self, free: Any, constrained: Any, grammar: Any) -> None:
        self.free, self.constrained, self.grammar = free, constrained, grammar
        self._one = llama_cpp.llama_token_data_array(
            data=(llama_cpp.llama_token_data * 1)(), size=1, selected=-1, sorted=False
        )
        self.draws = self.fallbacks = 0

    def allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, lets ``token`` come next."""
        candidate = self._one.data[0]
        candidate.id, candidate.logit, candidate.p = llama_cpp.llama_token(token), 0.0, 0.0
        self._one.size, self._one.selected = 1, -1
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self._one))
        return not math.isinf(self._one.data[0].logit)

    def sample(self, ctx: Any, idx: int = -1) -> int:
        self.draws += 1
        token = int(self.free.sample(ctx, idx))
        if self.allows(token):
            self.constrained.accept(token)
        else:
            self.fallbacks += 1
            token = int(self.constrained.sample(ctx, idx))
            self.free.accept(token)
        llama_cpp.llama_sampler_accept(self.grammar, token)
        return token

    def reset(self) -> None:
        for chain in (self.free, self.constrained):
            chain.reset()
        llama_cpp.llama_sampler_reset(self.grammar)

    def close(self) -> None:
        for chain in (self.free, self.constrained):
            chain.close()
        if self.grammar is not None:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None

    def __del__(self) -> None:
        self.close()


def _grammar_first(init_sampler: Any) -> Any:
    def wrapper(self: llama_cpp.Llama, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        if grammar is None or kwargs.get("logits_processor") is not None:
            return init_sampler(self, *args, grammar=grammar, **kwargs)
        checker = llama_cpp.llama_sampler_init_grammar(
            self._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        free = init_sampler(self, *args, grammar=None, **kwargs)
        return GrammarFirst(free, init_sampler(self, *args, grammar=grammar, **kwargs), checker)

    return wrapper


def patch(*, grammar_first: bool = True) -> None:
    """Make streamed chat completions end with a usage chunk, and (by default) check the grammar on the draw."""
    llama_cpp.Llama.generate = _counting_generate(llama_cpp.Llama.generate, _Counted)  # type: ignore[method-assign]
    create = llama_cpp.Llama.create_chat_completion
    llama_cpp.Llama.create_chat_completion = _with_usage(create, _Counted)  # type: ignore[method-assign]
    if grammar_first:
        init = llama_cpp.Llama._init_sampler
        llama_cpp.Llama._init_sampler = _grammar_first(init)  # type: ignore[method-assign]


if __name__ == "__main__":
    keep = "--no-grammar-first" not in sys.argv
    sys.argv = [argument for argument in sys.argv if argument != "--no-grammar-first"]
    patch(grammar_first=keep)
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
