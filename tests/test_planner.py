"""The planner: structured output, validation, bounded re-asks, fallback to one node."""

from __future__ import annotations

import json

import pytest

from rolecall import OpenAIChatModel, RolePlay
from rolecall.agents.planner import Planner
from rolecall.testing import FakeOpenAIServer, ScriptedModel

GOOD = json.dumps({"subtasks": [
    {"id": "research", "title": "Research the market", "after": []},
    {"id": "draft", "title": "Write the pitch", "after": ["research"]},
]})  # fmt: skip
CYCLE = json.dumps({"subtasks": [{"id": "a", "title": "A", "after": ["b"]}, {"id": "b", "title": "B", "after": ["a"]}]})
DONE, INSTRUCTION, SOLUTION = "<TASK_DONE>", "Instruction: go\nInput: None", "Solution: gone.\nNext request."
SECOND = "Instruction: now write the pitch itself\nInput: the research"
PITCH = "Solution: the pitch.\nNext request."


def pitch(user: list[str], **options: object) -> RolePlay:
    return RolePlay(
        "Prepare an investor pitch", assistant_role="Analyst", user_role="Founder", plan=True,
        user_model=ScriptedModel(user), assistant_model=ScriptedModel([SOLUTION, PITCH]),
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def kinds(events: list[object]) -> list[str]:
    return [e.kind for e in events if e.kind.startswith("plan")]  # type: ignore[attr-defined]


def test_a_valid_plan_becomes_the_graph_and_is_worked_through() -> None:
    transcript = pitch([f"```json\n{GOOD}\n```", INSTRUCTION, DONE, SECOND, DONE]).run()
    assert transcript.termination is not None and transcript.termination.reason == "graph_complete"
    assert [n["id"] for n in transcript.task_graph["nodes"]] == ["research", "draft"]  # type: ignore[index]
    assert kinds(transcript.events) == ["plan_attempt"]
    assert [a.kind for a in transcript.agents] == ["planner", "user", "assistant"]
    assert "1. Research the market" in transcript.agents[1].system_prompt
    assert transcript.usage.prompt_tokens > sum(m.usage.prompt_tokens for m in transcript.messages)


def test_bad_plans_are_sent_back_with_the_problem_named() -> None:
    user = ScriptedModel(["Sure! Here is my plan: research, then draft.", CYCLE, GOOD, INSTRUCTION, DONE, SECOND, DONE])
    transcript = RolePlay(
        "Prepare an investor pitch", assistant_role="Analyst", user_role="Founder", plan=True,
        user_model=user, assistant_model=ScriptedModel([SOLUTION, PITCH]),
    ).run()  # fmt: skip
    attempts = [e.model_extra for e in transcript.events if e.kind == "plan_attempt"]
    assert [a["ok"] for a in attempts] == [False, False, True]  # type: ignore[index]
    assert "no JSON object" in attempts[0]["problem"]  # type: ignore[index]
    assert "cycle" in attempts[1]["problem"]  # type: ignore[index]
    third_request = user.calls[2]
    assert "cycle" in third_request[-1]["content"] and third_request[-2]["content"] == CYCLE
    assert transcript.termination is not None and transcript.termination.reason == "graph_complete"


def test_a_model_that_cannot_plan_falls_back_to_one_node() -> None:
    transcript = pitch(["no", "still no", "{}", INSTRUCTION, DONE]).run()
    assert kinds(transcript.events) == ["plan_attempt"] * 3 + ["plan_fallback"]
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert [n["id"] for n in transcript.task_graph["nodes"]] == ["task"]  # type: ignore[index]


def test_too_many_subtasks_is_a_problem() -> None:
    planner = Planner(assistant_role="A", user_role="U", max_subtasks=1)
    with pytest.raises(ValueError, match="more than 1"):
        planner.parse(GOOD)


@pytest.mark.parametrize(
    ("style", "expected"),
    [("json_schema", {"type": "json_schema"}), ("json_object", {"type": "json_object"})],
)
def test_the_plan_is_requested_under_a_json_schema(style: str, expected: dict[str, str]) -> None:
    with FakeOpenAIServer(lambda request: GOOD) as server:
        model = OpenAIChatModel("m", base_url=server.base_url)
        model.schema_style = style  # type: ignore[assignment]
        outcome = Planner(assistant_role="A", user_role="U", model=model).plan_sync("Prepare a pitch")
    assert outcome.graph is not None and len(outcome.graph) == 2
    response_format = server.bodies[0]["response_format"]
    assert expected.items() <= response_format.items()
    schema = response_format.get("schema") or response_format["json_schema"]["schema"]
    assert schema["properties"]["subtasks"]["maxItems"] == 6
