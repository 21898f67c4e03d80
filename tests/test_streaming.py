"""Tokens as they arrive: the live view streams, and streaming changes nothing that is recorded."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rolecall import OpenAIChatModel, RolePlay
from rolecall.models.streaming import listening
from rolecall.testing import FakeOpenAIServer, FakeResponse


class Watcher:
    def __init__(self) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.speaker = ""
        self.starts = 0

    def watch(self, speaker: str) -> Watcher:
        self.speaker = speaker
        return self

    def started(self) -> None:
        self.starts += 1

    def token(self, text: str) -> None:
        self.tokens.append((self.speaker, text))


def _replies(request: dict[str, Any]) -> str | FakeResponse:
    if request["messages"][-1]["content"] == "calc":
        return FakeResponse(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "2*21"}}])
    return "Solution: a reply of several words, sent in pieces.\nNext request."


def test_a_streamed_reply_is_the_same_completion_with_time_to_first_token() -> None:
    async def both(server: FakeOpenAIServer) -> list[Any]:
        model = OpenAIChatModel("fake", base_url=server.base_url)
        watcher = Watcher()
        found = []
        for last in ("hello", "calc"):
            messages: list[Any] = [{"role": "user", "content": last}]
            plain = await model.complete(messages)
            with listening(watcher):
                streamed = await model.complete(messages)
            found.append((plain, streamed))
        await model.aclose()
        return [found, watcher]

    with FakeOpenAIServer(_replies, stream_delay=0.002) as server:
        found, watcher = asyncio.run(both(server))
        streamed_requests = [body for body in server.bodies if body.get("stream")]
    for plain, streamed in found:
        same = ("text", "usage", "finish_reason", "model")
        assert {key: getattr(streamed, key) for key in same} == {key: getattr(plain, key) for key in same}
        assert [(c.name, c.arguments) for c in streamed.tool_calls] == [(c.name, c.arguments) for c in plain.tool_calls]
        assert plain.first_token_ms is None and streamed.first_token_ms is not None
        assert 0 < streamed.first_token_ms <= streamed.latency_ms
    assert "".join(text for _, text in watcher.tokens) == found[0][0].text
    assert len(watcher.tokens) > 5 and watcher.starts == 2
    assert all(body["stream_options"] == {"include_usage": True} for body in streamed_requests)


def test_a_stream_cut_mid_reply_is_retried_from_the_start() -> None:
    async def once(server: FakeOpenAIServer) -> tuple[Any, Watcher]:
        model = OpenAIChatModel("fake", base_url=server.base_url)
        watcher = Watcher()
        with listening(watcher):
            completion = await model.complete([{"role": "user", "content": "hello"}])
        await model.aclose()
        return completion, watcher

    cut = FakeResponse(text="Solution: a reply that will not arrive whole.", cut_stream_after=3)
    with FakeOpenAIServer(_replies, faults=[cut]) as server:
        completion, watcher = asyncio.run(once(server))
    assert completion.text == "Solution: a reply of several words, sent in pieces.\nNext request."
    assert completion.retries == 1 and watcher.starts == 2


def test_a_conversation_streams_to_its_watcher_and_records_the_same(roleplay_server: FakeOpenAIServer) -> None:
    def hold(watch: bool) -> tuple[Any, Watcher]:
        model = OpenAIChatModel("fake", base_url=roleplay_server.base_url)
        roleplay = RolePlay("Build a bot", assistant_role="Programmer", user_role="Trader", model=model, seed=4)
        watcher = Watcher()
        if watch:
            roleplay.watch = watcher.watch
        return roleplay.run(), watcher

    (plain, _), (streamed, watcher) = hold(False), hold(True)
    fields = ("speaker", "content", "usage", "finish_reason", "reasks")
    assert [m.model_dump(include=set(fields)) for m in streamed.messages] == [
        m.model_dump(include=set(fields)) for m in plain.messages
    ]
    assert all(m.first_token_ms is not None for m in streamed.messages)
    assert all(m.first_token_ms is None for m in plain.messages)
    assert {speaker for speaker, _ in watcher.tokens} == {"Trader", "Programmer"}


def test_quiet_and_batches_do_not_stream(tmp_path: Path, roleplay_server: FakeOpenAIServer) -> None:
    out = tmp_path / "run.jsonl"
    base = [sys.executable, "-m", "rolecall.cli", "run", "--assistant-role", "A", "--user-role", "U", "--task", "T",
            "--base-url", roleplay_server.base_url, "--model", "fake", "--out", str(out)]  # fmt: skip
    subprocess.run([*base, "--quiet"], check=True, capture_output=True, timeout=60)
    assert not any(body.get("stream") for body in roleplay_server.bodies)
    subprocess.run(base, check=True, capture_output=True, timeout=60)
    assert any(body.get("stream") for body in roleplay_server.bodies)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["messages"][0]["first_token_ms"] is None
    assert records[1]["messages"][0]["first_token_ms"] is not None
