"""One settings object: a spec, keyword arguments and resume give the same conversation; one meter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rolecall import RolePlay, Settings, SpecError, Transcript
from rolecall.cli import main
from rolecall.models.base import ChatMessage
from rolecall.spec import parse_spec
from rolecall.testing import FakeOpenAIServer, FunctionModel

SETTINGS: dict[str, Any] = {
    "max_turns": 4,
    "seed": 5,
    "params": {"temperature": 0.3, "max_tokens": 80},
    "guards": {"echo": "flag", "max_reasks": 1, "loop": {"window": 3}},
    "assist": {"few_shot": True},
    "done_token": "<DONE>",
    "context_tokens": 4096,
    "no_progress_turns": 20,
}


def replies(messages: list[ChatMessage]) -> str:
    """A deterministic pair: the reply depends only on what the agent sees."""
    turns = sum(message["role"] == "assistant" for message in messages)
    if "carries out your instructions" in messages[0]["content"]:
        return "<DONE>" if turns >= 3 else f"Instruction: write part {turns + 1} of the plan\nInput: None"
    return f"Solution: part {turns + 1} of the plan is written out in full.\nNext request."


def comparable(transcript: Transcript) -> dict[str, Any]:
    """What must be identical: everything but ids, clocks and the resume bookkeeping."""
    data = transcript.model_dump(exclude={"id", "created_at", "finished_at", "parent_id"})
    data["messages"] = [
        {k: v for k, v in m.items() if k not in ("created_at", "latency_ms", "response_id")} for m in data["messages"]
    ]
    data["events"] = [e for e in data["events"] if e["kind"] != "resumed"]
    for node in (data["task_graph"] or {}).get("nodes", []):
        node.pop("started_at"), node.pop("finished_at")
    return data


def by_spec(settings: dict[str, Any]) -> Transcript:
    spec = parse_spec({"task": "Plan a bakery", "assistant": {"role": "Baker"}, "user": {"role": "Owner"}, **settings})
    return spec.build(FunctionModel(replies)).run()


def test_a_spec_keyword_arguments_and_a_settings_object_hold_the_same_conversation() -> None:
    from_spec = by_spec(SETTINGS)
    from_kwargs = RolePlay("Plan a bakery", assistant_role="Baker", user_role="Owner", model=FunctionModel(replies),
                           **SETTINGS).run()  # fmt: skip
    from_object = RolePlay("Plan a bakery", assistant_role="Baker", user_role="Owner", model=FunctionModel(replies),
                           settings=Settings.model_validate(SETTINGS)).run()  # fmt: skip
    assert comparable(from_spec) == comparable(from_kwargs) == comparable(from_object)
    assert from_spec.id == from_kwargs.id  # the seed makes the id
    assert from_spec.settings == Settings.model_validate(SETTINGS).model_dump(mode="json")
    assert from_spec.termination is not None and from_spec.termination.reason == "task_done"


def test_resume_restores_the_whole_settings_object_and_continues_identically() -> None:
    whole = by_spec(SETTINGS)
    stopped = by_spec(SETTINGS | {"max_turns": 2})
    assert stopped.termination is not None and stopped.termination.reason == "max_turns"
    resumed = RolePlay.resume(stopped, model=FunctionModel(replies), max_turns=2)
    assert resumed.settings == Settings.model_validate(SETTINGS)
    continued = resumed.run()
    assert continued.parent_id == stopped.id
    assert comparable(continued) == comparable(whole)


def test_keyword_sugar_is_checked_like_a_spec() -> None:
    with pytest.raises(SpecError, match=r"^params\.temperature: Input should be less than or equal to 2$"):
        Settings.derive(params={"temperature": 9})
    with pytest.raises(SpecError, match="unknown setting 'turns'"):
        Settings.derive(turns=3)
    with pytest.raises(SpecError, match=r"^max_turns: Input should be greater than 0$"):  # not pydantic's error
        Settings(max_turns=0)
    with pytest.raises(SpecError, match=r"^guards\.max_reasks: Input should be less than or equal to 10$"):
        Settings(guards={"max_reasks": 99})
    from rolecall import GenerationParams, Role

    with pytest.raises(SpecError, match=r"^temperature: Input should be a valid number"):
        GenerationParams(temperature="hot")
    with pytest.raises(SpecError, match="role: give a non-blank name"):
        Role.of("  ")


def test_a_limit_is_one_field_and_its_check() -> None:
    from rolecall.settings import Spent

    settings = Settings(max_turns=3, token_budget=100, timeout=5, no_progress_turns=2, cost_budget=1)
    assert settings.limit_reached(Spent(turns=3), new_turn=False) is None  # the last instruction is answered
    assert settings.limit_reached(Spent(turns=3), new_turn=True) == "max_turns"
    assert settings.limit_reached(Spent(tokens=100), new_turn=False) == "token_budget"
    assert settings.limit_reached(Spent(cost_usd=1.5), new_turn=False) == "cost_budget"
    assert settings.limit_reached(Spent(cost_usd=None), new_turn=False) == "cost_budget"  # unmeterable: stop
    assert settings.limit_reached(Spent(seconds=6), new_turn=False) == "timeout"
    assert settings.limit_reached(Spent(turns_without_progress=2), new_turn=False) == "no_progress"


def planner_and_pair(messages: list[ChatMessage]) -> str:
    if "You plan work" in messages[0]["content"]:
        return '{"steps": ["Choose the breads to bake", "Write the weekly baking plan"]}'
    return replies(messages)


def test_the_embedded_endpoint_turns_its_measured_aids_on_unless_told_otherwise() -> None:
    embedded = FunctionModel(planner_and_pair)
    embedded.embedded = True
    transcript = RolePlay("Plan a bakery", assistant_role="Baker", user_role="Owner", model=embedded).run()
    assert transcript.defaults_applied == {"assist.json_turns": True, "plan": True, "plan_style": "steps"}
    assert transcript.settings["assist"]["json_turns"] is True and transcript.settings["plan"] is True
    assert [node["title"] for node in (transcript.task_graph or {})["nodes"]] == [
        "Choose the breads to bake", "Write the weekly baking plan"
    ]  # fmt: skip
    assert any('"solution"' in call[0]["content"] for call in embedded.calls)  # the executor was asked for JSON
    told = RolePlay("Plan a bakery", assistant_role="Baker", user_role="Owner", model=embedded,
                    assist={"json_turns": False}, plan=False).run()  # fmt: skip
    assert told.settings["assist"]["json_turns"] is False and told.settings["plan"] is False
    assert told.defaults_applied == {}
    spec = parse_spec({"task": "Plan a bakery", "assistant": {"role": "Baker"}, "user": {"role": "Owner"},
                       "subtasks": [{"id": "a", "title": "Choose the breads"}]})  # fmt: skip
    assert spec.build(embedded).run().defaults_applied == {"assist.json_turns": True}  # its own graph: no plan
    other = RolePlay("Plan a bakery", assistant_role="Baker", user_role="Owner", model=FunctionModel(replies)).run()
    assert other.settings["assist"]["json_turns"] is False and other.defaults_applied == {}


def test_a_cost_budget_with_an_unpriced_model_is_one_line_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("task: Plan a bakery\nassistant: {role: Baker}\nuser: {role: Owner}\ncost_budget: 0.5\n")
    with FakeOpenAIServer() as server:
        code = main(["run", str(spec), "--base-url", server.base_url, "--model", "gpt-x", "--quiet"])
        assert server.requests == 0
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "rolecall: error: cost_budget: no price for model 'gpt-x'; add it under prices: "
        "{gpt-x: {prompt: USD_PER_1M_TOKENS, completion: USD_PER_1M_TOKENS}}"
    )
    batch = tmp_path / "batch.yaml"
    batch.write_text("assistant_roles: [Baker]\nuser_roles: [Owner]\ntasks: [Plan]\nbudget: {cost_usd: 1}\n")
    with FakeOpenAIServer() as server:
        code = main(["batch", str(batch), "--out", str(tmp_path / "out"), "--base-url", server.base_url, "--quiet"])
        assert server.requests == 0
    assert code == 2
    assert "no price for model 'gpt-4o-mini'" in capsys.readouterr().err


def test_conversation_and_batch_meter_cost_by_one_rule() -> None:
    import asyncio

    from rolecall.models.base import Completion, Usage
    from rolecall.models.meter import Meter
    from rolecall.models.pricing import PriceTable
    from rolecall.models.wrappers import Budgeted
    from rolecall.testing import ScriptedModel

    call = Completion(text="x", model="mystery", usage=Usage(prompt_tokens=10))
    meter = Meter(PriceTable({"known": {"prompt": 1, "completion": 1}}))
    meter.add(call.model_copy(update={"model": "known"}))
    assert meter.cost_usd == pytest.approx(1e-5)
    meter.add(call)
    assert meter.cost_usd is None and meter.unpriced == {"mystery"}  # unknown, never silently zero
    budgeted = Budgeted(ScriptedModel([call], repeat_last=True, name="mystery"))
    asyncio.run(budgeted.complete([{"role": "user", "content": "hi"}]))
    assert budgeted.meter.cost_usd is None


def test_a_reply_from_an_unpriced_model_stops_a_cost_budget_instead_of_escaping_it() -> None:
    from rolecall.models.base import Completion
    from rolecall.testing import ScriptedModel

    renamed = Completion(text="Instruction: bake\nInput: None", model="someone-else")  # the server names another model
    transcript = RolePlay(
        "Bake", assistant_role="Baker", user_role="Owner", prices={"priced": {"prompt": 1, "completion": 1}},
        cost_budget=5, user_model=ScriptedModel([renamed], name="priced"),
        assistant_model=ScriptedModel(["Solution: baked.\nNext request."], name="priced"),
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "cost_budget"
    assert transcript.termination.detail == "no price for someone-else: the cost cannot be metered"
    assert transcript.usage.cost_usd is None
