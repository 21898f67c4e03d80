"""Fitting a conversation into a context window, with tokens counted offline.

tiktoken downloads its tables at run time and fails without internet, and no single
tokenizer fits every model anyway. So tokens are estimated from characters, and the
estimate is calibrated by the prompt token counts the server reports after each call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rolecall.models.base import ChatMessage

#: Tokens a chat template adds around each message (role markers, separators).
MESSAGE_OVERHEAD = 4


class TokenEstimator:
    """Characters-per-token estimate, nudged toward what the server reports."""

    def __init__(self, chars_per_token: float = 3.6) -> None:
        self.chars_per_token = chars_per_token

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token)

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count(message["content"]) + MESSAGE_OVERHEAD for message in messages)

    def observe(self, messages: Sequence[ChatMessage], prompt_tokens: int) -> None:
        """Learn from a server-reported prompt size for ``messages``."""
        content_tokens = prompt_tokens - MESSAGE_OVERHEAD * len(messages)
        if content_tokens <= 0:
            return
        measured = sum(len(message["content"]) for message in messages) / content_tokens
        if 0.5 < measured < 12:  # ignore nonsense from servers that report fake usage
            self.chars_per_token = 0.7 * self.chars_per_token + 0.3 * measured


def fit(messages: Sequence[ChatMessage], budget: int, estimator: TokenEstimator) -> list[ChatMessage]:
    """Keep the system prompt and the most recent messages that fit in ``budget`` tokens.

    The newest message is always kept (cut to what fits, should it alone be longer), and the
    kept history never opens with an assistant message (chat templates expect the user to
    speak first).
    """
    system = [message for message in messages[:1] if message["role"] == "system"]
    rest = messages[len(system) :]
    remaining = budget - estimator.count_messages(system)
    kept: list[ChatMessage] = []
    for message in reversed(rest):
        cost = estimator.count(message["content"]) + MESSAGE_OVERHEAD
        if kept and cost > remaining:
            break
        if not kept and cost > remaining:  # the newest alone is too long: its beginning, as much as fits
            room = int(max(0, remaining - MESSAGE_OVERHEAD) * estimator.chars_per_token)
            cut = message.copy()
            cut["content"] = message["content"][:room]
            kept.append(cut)
            remaining = 0
            continue
        kept.append(message)
        remaining -= cost
    kept.reverse()
    while len(kept) > 1 and kept[0]["role"] == "assistant":
        kept.pop(0)
    return system + kept
