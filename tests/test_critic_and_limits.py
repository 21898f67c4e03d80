"""The critic in the loop, and the layered limits: cost, progress, wall clock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rolecall import Completion, CriticSettings, GuardSettings, PriceTable, RolePlay, Usage
from rolecall.cli import main
from rolecall.testing import FakeOpenAIServer, ScriptedModel

INSTRUCTION = "Instruction: name a data source for prices\nInput: None"
DONE = "<TASK_DONE>"


def test_critic_picks_the_best_of_k_and_is_metered() -> None:
    drafts = ["Solution: Yahoo.\nNext request.", "Solution: Polygon's REST API, with a free tier.\nNext request.",
              "Solution: the internet.\nNext request."]  # fmt: skip
    critic_model = ScriptedModel(["Option 2"])
    executor = ScriptedModel(drafts)
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader",
        critic=CriticSettings(mode="pick", candidates=3), critic_model=critic_model,
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=executor,
    ).run()  # fmt: skip
    assert transcript.messages[1].content == drafts[1]
    [event] = [e.model_extra for e in transcript.events if e.kind == "critic"]
    assert event == {"mode": "pick", "speaker": "Programmer", "choice": 1, "candidates": drafts}
    assert "Option 3:" in critic_model.calls[0][-1]["content"]
    assert "critic" in [agent.kind for agent in transcript.agents]
    spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
    assert spent > sum(m.usage.prompt_tokens + m.usage.completion_tokens for m in transcript.messages)


def test_critic_review_sends_a_reply_back_with_feedback() -> None:
    critic_model = ScriptedModel(["REVISE: name a concrete provider.", "APPROVE"])
    executor = ScriptedModel(["Solution: some website.\nNext request.", "Solution: Polygon.io.\nNext request."])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader",
        critic=CriticSettings(mode="review", max_revisions=2), critic_model=critic_model,
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=executor,
    ).run()  # fmt: skip
    assert transcript.messages[1].content == "Solution: Polygon.io.\nNext request."
    events = [e.model_extra or {} for e in transcript.events if e.kind == "critic"]
    assert [e["approved"] for e in events] == [False, True]
    assert events[0]["feedback"] == "name a concrete provider."
    assert "name a concrete provider." in executor.calls[1][-1]["content"]


def test_cost_is_metered_from_the_price_table_and_the_budget_stops() -> None:
    costly = Completion(text="Solution: done.\nNext request.", model="pricey", usage=Usage(prompt_tokens=1000))
    prices = {"pricey": {"prompt": 1000.0, "completion": 0.0}}  # $1 per 1000 prompt tokens
    instruction = Completion(text=INSTRUCTION, model="pricey", usage=Usage(prompt_tokens=1000))
    transcript = RolePlay(
        "Build", assistant_role="A", user_role="U", prices=prices, cost_budget=2.5, guards=GuardSettings.off(),
        user_model=ScriptedModel([instruction] * 9, name="pricey"),
        assistant_model=ScriptedModel([costly] * 9, name="pricey"),
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "cost_budget"
    assert transcript.usage.cost_usd == 3.0


def test_unknown_prices_leave_cost_unknown() -> None:
    transcript = RolePlay(
        "Build", assistant_role="A", user_role="U",
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=ScriptedModel(["Solution: x.\nNext request."]),
    ).run()  # fmt: skip
    assert transcript.usage.cost_usd is None
    assert PriceTable().cost("SmolLM2-135M-Instruct", Usage(prompt_tokens=10)) == 0.0
    assert PriceTable({"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}).price("gpt-4o-mini-2024-07-18") is not None


def test_no_progress_stops_a_conversation_that_never_closes_a_subtask() -> None:
    instructions = [f"Instruction: step {n}\nInput: None" for n in range(9)]
    solutions = [f"Solution: result {n} is here.\nNext request." for n in range(9)]
    transcript = RolePlay(
        "Build", assistant_role="A", user_role="U", no_progress_turns=3, max_turns=9,
        user_model=ScriptedModel(instructions), assistant_model=ScriptedModel(solutions),
    ).run()  # fmt: skip
    assert transcript.termination is not None
    assert (transcript.termination.reason, transcript.termination.turn) == ("no_progress", 3)


def test_wall_clock_timeout() -> None:
    class Slow(ScriptedModel):
        async def complete(self, messages, *, params=None):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.15)
            return await super().complete(messages, params=params)

    instructions = [f"Instruction: step {n}\nInput: None" for n in range(9)]
    solutions = [f"Solution: result {n} is here.\nNext request." for n in range(9)]
    transcript = RolePlay(
        "Build", assistant_role="A", user_role="U", timeout=0.5, max_turns=9,
        user_model=Slow(instructions), assistant_model=Slow(solutions),
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "timeout"
    assert 2 <= len(transcript.messages) <= 5


SPEC = """\
task: Develop a trading bot
assistant: {role: Python Programmer}
user: {role: Stock Trader}
guards: {max_reasks: 1, refusal: stop, loop: flag}
assist: {json_turns: true}
critic: {mode: pick, candidates: 2, criteria: concrete and correct}
prices: {fake-model: {prompt: 1.0, completion: 2.0}}
cost_budget: 5.0
"""


def test_spec_sections_for_guards_assist_critic_and_prices(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)

    def responder(request: dict[str, object]) -> str:
        messages = request["messages"]
        assert isinstance(messages, list)
        system = str(messages[0]["content"])
        if system.startswith("You are a strict critic"):
            return "Option 1"
        if "who carries out your instructions" in system:
            done = any(m["role"] == "assistant" for m in messages)
            return json.dumps({"instruction": "List data sources", "input": "None", "task_done": done})
        return '{"solution": "Yahoo Finance and Polygon."}'

    out = tmp_path / "runs.jsonl"
    with FakeOpenAIServer(responder, model="fake-model") as server:
        argv = ["run", str(spec), "--base-url", server.base_url, "--model", "fake-model", "--out", str(out), "--quiet"]
        assert main(argv) == 0
    from rolecall.transcripts import read

    [transcript] = read(out)
    assert [m.content for m in transcript.messages] == [
        "Instruction: List data sources\nInput: None",
        "Solution: Yahoo Finance and Polygon.\nNext request.",
        "<TASK_DONE>",
    ]
    assert transcript.usage.cost_usd is not None and transcript.usage.cost_usd > 0
    first_instruction_request = server.bodies[0]
    assert first_instruction_request["response_format"]["type"] == "json_schema"
    assert any(e.kind == "critic" for e in transcript.events)


def test_cost_budget_without_a_price_is_a_spec_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("task: T\nassistant: {role: A}\nuser: {role: U}\ncost_budget: 1.0\n")
    with FakeOpenAIServer() as server:
        argv = [
            "run",
            str(spec),
            "--base-url",
            server.base_url,
            "--model",
            "mystery",
            "--out",
            str(tmp_path / "o.jsonl"),
        ]
        assert main(argv) == 2
    assert "no price for model 'mystery'" in capsys.readouterr().err
