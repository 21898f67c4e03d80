"""Models wrapped for batches: rate limits, a shared budget, and a replay cache.

Each wrapper is itself a :class:`ChatModel`, so conversations never know they are in a
batch. ``RateLimited`` spaces requests to stay under requests and tokens per minute;
``Budgeted`` meters every call of every conversation against one budget and refuses new
calls once it is spent; ``Cached`` answers a request it has seen from SQLite, keyed by the
whole request, so a batch can be replayed offline with the very same replies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rolecall._secrets import clean
from rolecall.errors import BudgetExhausted
from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams
from rolecall.models.meter import Meter
from rolecall.models.pricing import PriceTable


class _Wrapper(ChatModel):
    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.context_window = inner.context_window
        self.schema_style = inner.schema_style
        self.embedded = inner.embedded

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Bucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60
        self.capacity = per_minute
        self.level = per_minute
        self.stamp = time.monotonic()

    def wait_for(self, amount: float) -> float:
        """Seconds to wait before ``amount`` is available (and take it)."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)
        self.level -= amount
        return max(0.0, -self.level / self.rate)

    def refund(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)


class RateLimited(_Wrapper):
    """Keeps calls under ``rpm`` requests and ``tpm`` tokens per minute (either may be None)."""

    def __init__(self, inner: ChatModel, *, rpm: float | None = None, tpm: float | None = None) -> None:
        super().__init__(inner)
        self._requests = _Bucket(rpm) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        estimate = sum(len(message["content"]) for message in messages) / 4 + (
            params.max_tokens if params and params.max_tokens else 256
        )
        async with self._lock:  # callers queue in order; each waits its own turn
            delay = 0.0
            if self._requests is not None:
                delay = max(delay, self._requests.wait_for(1))
            if self._tokens is not None:
                delay = max(delay, self._tokens.wait_for(estimate))
            if delay:
                await asyncio.sleep(delay)
        completion = await self.inner.complete(messages, params=params)
        if self._tokens is not None:  # settle the estimate against what was really spent
            self._tokens.refund(estimate - completion.usage.total_tokens)
        return completion


class Budgeted(_Wrapper):
    """Meters all calls against one token and/or cost budget shared by a whole batch."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        tokens: int | None = None,
        cost_usd: float | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        super().__init__(inner)
        self.tokens_budget = tokens
        self.cost_budget = cost_usd
        self.meter = Meter(prices)

    @property
    def exhausted(self) -> bool:
        if self.tokens_budget is not None and self.meter.tokens >= self.tokens_budget:
            return True
        if self.cost_budget is None:
            return False
        return self.meter.cost_usd is None or self.meter.cost_usd >= self.cost_budget

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        if self.exhausted:
            if self.cost_budget is not None and self.meter.cost_usd is None:
                unpriced = ", ".join(sorted(self.meter.unpriced))
                raise BudgetExhausted(f"the batch cost budget cannot be metered: no price for {unpriced}")
            raise BudgetExhausted("the batch budget is spent")
        return self.meter.add(await self.inner.complete(messages, params=params), model=self.name)


class Cached(_Wrapper):
    """Answers from a SQLite file when the exact request was seen before; records new ones."""

    def __init__(self, inner: ChatModel, path: str | Path) -> None:
        super().__init__(inner)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
        self.hits = 0
        self.misses = 0

    def _key(self, messages: Sequence[ChatMessage], params: GenerationParams | None) -> str:
        request = {
            "model": self.inner.name,
            "messages": list(messages),
            "params": (params or GenerationParams()).model_dump(),
        }
        return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    async def complete(self, messages: Sequence[ChatMessage], *, params: GenerationParams | None = None) -> Completion:
        key = self._key(messages, params)
        row = self._db.execute("SELECT completion FROM replies WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return Completion.model_validate_json(row[0])
        self.misses += 1
        completion = await self.inner.complete(messages, params=params)
        self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, clean(completion.model_dump_json())))
        return completion

    async def aclose(self) -> None:
        self._db.close()
        await self.inner.aclose()
