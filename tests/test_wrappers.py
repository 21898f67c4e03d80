"""Batch wrappers around a model: rate limits, a shared budget, the replay cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rolecall import Completion, GenerationParams, Usage
from rolecall.errors import BudgetExhausted
from rolecall.models import wrappers
from rolecall.models.wrappers import Budgeted, Cached, RateLimited
from rolecall.testing import ScriptedModel

MESSAGES = [{"role": "user", "content": "x" * 400}]  # about 100 tokens by the estimate


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake clock for the rate limiter: sleeping advances it; the sleeps are recorded."""
    clock = {"now": 1000.0}
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(wrappers.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(wrappers.asyncio, "sleep", fake_sleep)
    return slept


def test_requests_per_minute_space_calls_once_the_burst_is_spent(waits: list[float]) -> None:
    model = RateLimited(ScriptedModel(["ok"], repeat_last=True), rpm=6)

    async def calls(count: int) -> None:
        for _ in range(count):
            await model.complete(MESSAGES)  # type: ignore[arg-type]

    asyncio.run(calls(8))
    assert waits == [pytest.approx(10.0), pytest.approx(10.0)]  # 6 at once (a minute's worth), then one per 10 s


def test_tokens_per_minute_wait_for_the_estimate_and_settle_on_usage(waits: list[float]) -> None:
    cheap = Completion(text="ok", usage=Usage(prompt_tokens=10, completion_tokens=10))
    model = RateLimited(ScriptedModel([cheap], repeat_last=True), tpm=600)  # 10 tokens a second
    params = GenerationParams(max_tokens=100)  # each call is estimated at 200 tokens, then costs 20

    async def calls(count: int) -> None:
        for _ in range(count):
            await model.complete(MESSAGES, params=params)  # type: ignore[arg-type]

    asyncio.run(calls(6))
    assert waits == []  # the refunds of over-estimates keep the bucket from running dry
    costly = Completion(text="ok", usage=Usage(prompt_tokens=300))  # each costs 100 more than estimated
    expensive = RateLimited(ScriptedModel([costly], repeat_last=True), tpm=600)
    for _ in range(3):
        asyncio.run(expensive.complete(MESSAGES, params=params))  # type: ignore[arg-type]
    assert waits == [pytest.approx(20.0)]  # 600 -> 300 -> 0, then 200 more tokens take 20 s


def test_a_shared_budget_refuses_calls_once_spent() -> None:
    costly = Completion(text="ok", usage=Usage(prompt_tokens=60, completion_tokens=40))
    model = Budgeted(ScriptedModel([costly], repeat_last=True), tokens=250)

    async def spend() -> int:
        calls = 0
        with pytest.raises(BudgetExhausted):
            while True:
                await model.complete(MESSAGES)  # type: ignore[arg-type]
                calls += 1
        return calls

    assert asyncio.run(spend()) == 3
    assert model.meter.tokens == 300


def test_the_cache_answers_repeated_requests_without_calling(tmp_path: Path) -> None:
    inner = ScriptedModel(["first", "second"])
    model = Cached(inner, tmp_path / "cache.sqlite")

    async def run() -> list[str]:
        texts = [
            (await model.complete(MESSAGES)).text,  # type: ignore[arg-type]
            (await model.complete(MESSAGES)).text,  # type: ignore[arg-type]
            (await model.complete(MESSAGES, params=GenerationParams(seed=2))).text,  # type: ignore[arg-type]
        ]
        await model.aclose()
        return texts

    assert asyncio.run(run()) == ["first", "first", "second"]
    assert (model.hits, model.misses, len(inner.calls)) == (1, 2, 2)
    again = Cached(ScriptedModel([]), tmp_path / "cache.sqlite")  # a new process, offline
    assert asyncio.run(again.complete(MESSAGES)).text == "first"  # type: ignore[arg-type]
