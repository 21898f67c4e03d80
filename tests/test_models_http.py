"""The OpenAI-compatible client over real HTTP to a loopback server: retries and failures."""

from __future__ import annotations

import time

import pytest

from rolecall import GenerationParams, ModelError, ModelUnavailableError, OpenAIChatModel
from rolecall.testing import FakeOpenAIServer, FakeResponse

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi."}]


def model_for(server: FakeOpenAIServer, **options: object) -> OpenAIChatModel:
    return OpenAIChatModel("fake-model", base_url=server.base_url, api_key="sk-test", **options)  # type: ignore[arg-type]


def test_completion_carries_text_usage_and_facts() -> None:
    with FakeOpenAIServer(lambda request: "hi there") as server:
        completion = model_for(server).complete_sync(MESSAGES, params=GenerationParams(temperature=0.2, seed=3))
    assert completion.text == "hi there"
    assert completion.usage.completion_tokens > 0 and completion.usage.prompt_tokens > 0
    assert completion.finish_reason == "stop"
    assert completion.model == "fake-model"
    assert completion.response_id and completion.response_id.startswith("chatcmpl-")
    assert completion.latency_ms > 0
    assert completion.retries == 0
    assert server.bodies[0]["temperature"] == 0.2 and server.bodies[0]["seed"] == 3


def test_429_honours_retry_after_and_counts_the_retry() -> None:
    faults = [FakeResponse(status=429, headers={"Retry-After": "1"})]
    with FakeOpenAIServer(lambda request: "ok", faults=faults) as server:
        started = time.monotonic()
        completion = model_for(server).complete_sync(MESSAGES)
        waited = time.monotonic() - started
    assert completion.text == "ok"
    assert completion.retries == 1
    assert server.requests == 2
    assert waited >= 0.95


@pytest.mark.parametrize(
    "fault",
    [
        FakeResponse(status=500),
        FakeResponse(status=503),
        FakeResponse(drop=True),
        FakeResponse(raw=b"{this is not json"),
        FakeResponse(raw=b'{"id": "x", "object": "chat.completion", "choices": []}'),
        FakeResponse(raw=b"[1, 2, 3]"),
        FakeResponse(raw=b'{"choices": [{"message": {"content": 42}}]}'),
        FakeResponse(raw=b'{"choices": [{"message": {"content": "x", "tool_calls": [7]}}]}'),
        FakeResponse(raw=b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "many"}}'),
    ],
    ids=[
        "500",
        "503",
        "dropped-connection",
        "malformed-body",
        "no-choices",
        "a-list",
        "content-not-text",
        "call-not-an-object",
        "usage-not-a-number",
    ],
)
def test_transient_failures_are_retried(fault: FakeResponse) -> None:
    with FakeOpenAIServer(lambda request: "recovered", faults=[fault, fault]) as server:
        completion = model_for(server).complete_sync(MESSAGES)
    assert completion.text == "recovered"
    assert completion.retries == 2
    assert server.requests == 3


def test_persistent_failure_gives_up_naming_the_endpoint() -> None:
    faults = [FakeResponse(status=500)] * 3
    with FakeOpenAIServer(faults=faults) as server:
        with pytest.raises(ModelUnavailableError, match=r"127\.0\.0\.1.*3 attempt"):
            model_for(server, max_attempts=3).complete_sync(MESSAGES)
        assert server.requests == 3


@pytest.mark.parametrize(
    ("status", "advice"),
    [(401, "OPENAI_API_KEY"), (404, "--model"), (400, "rejected the request"), (403, "permissions")],
)
def test_permanent_failures_fail_fast_with_advice(status: int, advice: str) -> None:
    with FakeOpenAIServer(faults=[FakeResponse(status=status)]) as server:
        with pytest.raises(ModelError, match=advice) as caught:
            model_for(server).complete_sync(MESSAGES)
        assert server.requests == 1
    assert "sk-test" not in str(caught.value)


def test_unreachable_endpoint_is_named() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    model = OpenAIChatModel("m", base_url=url, max_attempts=2)
    with pytest.raises(ModelUnavailableError, match=url.replace(".", r"\.")):
        model.complete_sync(MESSAGES)


def test_length_cut_is_reported() -> None:
    with FakeOpenAIServer(lambda request: FakeResponse(text="cut sho", finish_reason="length")) as server:
        completion = model_for(server).complete_sync(MESSAGES)
    assert completion.finish_reason == "length"
    assert completion.text == "cut sho"


def test_extra_params_reach_the_server() -> None:
    params = GenerationParams(max_tokens=7, extra={"top_k": 5})
    with FakeOpenAIServer(lambda request: "x") as server:
        model_for(server).complete_sync(MESSAGES, params=params)
    assert server.bodies[0]["max_tokens"] == 7
    assert server.bodies[0]["top_k"] == 5
