"""Tools in the dialogue: offered natively or by JSON Schema, bad calls re-asked, recorded whole, shown, resumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tool_scripts import ANSWER, DONE, INSTRUCTION, NoFunctionCalling, call, roleplay, tool_messages

from rolecall import RolePlay, tool
from rolecall.agents.members import Member
from rolecall.cli import main
from rolecall.dialogue import Society
from rolecall.models.openai_compat import OpenAIChatModel
from rolecall.testing import FakeOpenAIServer, FakeResponse, ScriptedModel
from rolecall.tools import Calculator
from rolecall.transcripts import append


def test_function_calling_through_the_fake_server_runs_the_call_and_feeds_the_result_back(tmp_path: Path) -> None:
    def responder(request: dict[str, Any]) -> str | FakeResponse:
        messages = request["messages"]
        system = messages[0]["content"]
        if "who carries out your instructions" in system:
            return DONE if any(m["role"] == "assistant" for m in messages) else INSTRUCTION
        if messages[-1]["role"] == "tool":
            return f"Solution: the calculator says {messages[-1]['content']}.\nNext request."
        assert [spec["function"]["name"] for spec in request["tools"]] == ["calculator"]
        return FakeResponse(tool_calls=[{"name": "calculator", "arguments": {"expression": "3 * 2.40"}}])

    with FakeOpenAIServer(responder) as server:
        model = OpenAIChatModel("fake", base_url=server.base_url)
        transcript = RolePlay(
            "Price the menu", assistant_role="Accountant", user_role="Baker", model=model,
            assistant_tools=["calculator"],
        ).run()  # fmt: skip
        calling, answered = server.bodies[1], server.bodies[2]
    assert calling["tool_choice"] == "auto"
    assert answered["messages"][-2]["tool_calls"][0]["function"] == {
        "name": "calculator",
        "arguments": json.dumps({"expression": "3 * 2.40"}),
    }
    assert answered["messages"][-1] == {
        "role": "tool",
        "tool_call_id": answered["messages"][-2]["tool_calls"][0]["id"],
        "content": "7.2",
    }
    assert [m.role for m in transcript.messages] == ["user", "assistant", "tool", "assistant", "user"]
    request, result = transcript.messages[1], transcript.messages[2]
    assert request.tool_calls and request.tool_calls[0].name == "calculator"
    assert (result.tool_call_id, result.name, result.content, result.error) == (
        request.tool_calls[0].id, "calculator", "7.2", None
    )  # fmt: skip
    assert result.latency_ms >= 0
    assert transcript.messages[3].content == "Solution: the calculator says 7.2.\nNext request."
    assert transcript.termination and transcript.termination.reason == "task_done"
    executor = transcript.agent("Accountant")
    assert [t.name for t in executor.tools] == ["calculator"] and executor.tools[0].source == "calculator"
    assert "calculator" in executor.system_prompt
    # the instructor never sees the executor's calls, only its answer
    instructor_view = server.bodies[3]["messages"]
    assert all("tool_calls" not in m and m["role"] != "tool" for m in instructor_view)
    saved = tmp_path / "t.jsonl"
    append(saved, transcript)
    line = json.loads(saved.read_text())
    assert line["schema_version"] == 2 and line["messages"][2]["role"] == "tool"


def test_without_function_calling_each_turn_is_decoded_under_an_answer_or_call_schema() -> None:
    executor = NoFunctionCalling(
        [
            '{"tool": "calculator", "arguments": {"expression": "3 * 2.40"}}',
            '{"reply": "' + ANSWER.replace("\n", "\\n") + '"}',
        ]
    )
    transcript = RolePlay(
        "Price the menu", assistant_role="Accountant", user_role="Baker",
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=executor, assistant_tools=["calculator"],
    ).run()  # fmt: skip
    schema = executor.call_params[0].json_schema if executor.call_params[0] else None
    assert schema is not None and len(schema["anyOf"]) == 2
    answer, calculator = schema["anyOf"]
    assert answer["required"] == ["reply"]
    assert calculator["properties"]["tool"] == {"type": "string", "enum": ["calculator"]}
    assert calculator["properties"]["arguments"] == Calculator.parameters
    assert executor.call_params[0] is not None and executor.call_params[0].tools is None  # nothing sent natively
    assert '"tool": "calculator"' in executor.calls[0][0]["content"]  # the system prompt shows how to call
    follow_up = executor.calls[1]
    assert follow_up[-2] == {
        "role": "assistant",
        "content": '{"tool": "calculator", "arguments": {"expression": "3 * 2.40"}}',
    }
    assert follow_up[-1]["role"] == "user" and follow_up[-1]["content"].startswith("Result of calculator: 7.2")
    assert [m.role for m in transcript.messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert transcript.messages[1].tool_calls and transcript.messages[1].tool_calls[0].id == "call_1_0"
    assert transcript.messages[3].content == ANSWER


def test_json_turns_and_tools_share_one_schema_and_render_the_answer() -> None:
    executor = NoFunctionCalling(['{"tool": "calculator", "arguments": {"expression": "1+1"}}', '{"solution": "two"}'])
    instructor = ScriptedModel([
        '{"instruction": "add", "input": "1 1", "task_done": false}',
        '{"instruction": "", "input": "", "task_done": true}',
    ])  # fmt: skip
    transcript = RolePlay(
        "Add", assistant_role="Accountant", user_role="Baker", user_model=instructor, assistant_model=executor,
        assistant_tools=["calculator"], assist={"json_turns": True},
    ).run()  # fmt: skip
    params = executor.call_params[0]
    assert params is not None and params.json_schema is not None
    assert params.json_schema["anyOf"][0]["required"] == ["solution"]
    assert tool_messages(transcript)[0].content == "2"
    assert transcript.messages[3].content == "Solution: two\nNext request."


def test_an_unknown_tool_is_re_asked_with_the_validation_error() -> None:
    model = ScriptedModel([call("oven", temperature=200), call("calculator", expression="1+1"), ANSWER])
    transcript = roleplay([], tools=["calculator"], assistant_model=None) if False else RolePlay(
        "Price the menu", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=model, assistant_tools=["calculator"],
    ).run()  # fmt: skip
    guard = next(e for e in transcript.events if e.kind == "guard")
    extra = guard.model_extra or {}
    assert (extra["guard"], extra["action"]) == ("bad_tool_call", "reask")
    assert "no tool 'oven'" in extra["detail"] and '"oven"' in extra["rejected"]
    assert "no tool 'oven'" in model.calls[1][-1]["content"]  # the reminder tells the agent what was wrong
    assert transcript.messages[1].reasks == 1 and tool_messages(transcript)[0].content == "2"


def test_flagged_bad_calls_are_answered_with_the_error_and_stopped_ones_end_the_conversation() -> None:
    flagged = roleplay(
        [call("calculator", formula="1+1"), ANSWER], tools=["calculator"], guards={"bad_tool_call": "flag"}
    ).run()
    result = tool_messages(flagged)[0]
    assert result.error and "formula" in result.error and result.content.startswith("error:")
    assert flagged.termination and flagged.termination.reason == "task_done"
    stopped = roleplay([call("calculator")], tools=["calculator"], guards={"bad_tool_call": "stop"}).run()
    assert stopped.termination and stopped.termination.reason == "bad_tool_call"


def test_calls_per_turn_bound_the_calls_and_then_the_agent_must_answer() -> None:
    model = ScriptedModel([call("calculator", expression=f"{n}+1") for n in range(3)] + [ANSWER])
    transcript = RolePlay(
        "Price", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=model, assistant_tools=["calculator"], tool_settings={"calls_per_turn": 3},
    ).run()  # fmt: skip
    choices = [params.tool_choice if params else None for params in model.call_params]
    assert choices == ["auto", "auto", "auto", "none"]
    assert len(tool_messages(transcript)) == 3 and transcript.messages[-2].content == ANSWER


def test_the_same_call_twice_in_a_turn_is_not_run_again() -> None:
    runs: list[str] = []

    @tool
    def lookup(item: str) -> str:
        """Look an item up."""
        runs.append(item)
        return f"{item}: 2.40"

    transcript = roleplay([call("lookup", item="rye"), call("lookup", item="rye"), ANSWER], tools=[lookup]).run()
    results = tool_messages(transcript)
    assert runs == ["rye"] and len(results) == 2
    assert results[1].error and results[1].content.endswith("its result was: rye: 2.40")


def test_a_society_member_calls_tools_and_the_others_see_only_its_answer() -> None:
    lead = ScriptedModel(["We need the price of 3 loaves.", DONE])
    member = ScriptedModel([call("calculator", expression="3*2.4"), "That is 7.2 in all."])
    society = Society(
        "Price bread", [Member(name="Ann", role="Baker"), Member(name="Bob", role="Accountant", tools=["calculator"])],
        models={"Ann": lead, "Bob": member},
    )  # fmt: skip
    transcript = society.run()
    assert [m.role for m in transcript.messages] == ["assistant", "assistant", "tool", "assistant", "assistant"]
    assert all("Result of" not in m["content"] and m.get("role") != "tool" for m in lead.calls[1])
    assert any("That is 7.2" in m["content"] for m in lead.calls[1])


def test_a_resumed_conversation_gets_its_tools_again() -> None:
    first = roleplay([call("calculator", expression="1+1"), ANSWER], tools=["calculator"], max_turns=1,
                     instructor=[INSTRUCTION]).run()  # fmt: skip
    assert first.termination and first.termination.reason == "max_turns"
    second = "Instruction: now price 2 cakes at 4.50 each\nInput: None"
    model = ScriptedModel([second, call("calculator", expression="2*4.5"), "Solution: 9.\nNext request.", DONE])
    resumed = RolePlay.resume(first, model=model, max_turns=2).run()
    assert [t.name for t in resumed.agent("Accountant").tools] == ["calculator"]
    assert [m.content for m in tool_messages(resumed)] == ["2", "9"]
    assert resumed.termination and resumed.termination.reason == "task_done"


def test_show_and_stats_render_tool_calls_and_count_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transcript = roleplay([call("calculator", expression="3*2.4"), call("calculator", expression="1/0"), ANSWER],
                          tools=["calculator"]).run()  # fmt: skip
    path = tmp_path / "t.jsonl"
    append(path, transcript)
    assert main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert 'calculator(expression="3*2.4")' in shown and "7.2" in shown and "division by zero" in shown
    assert main(["stats", "--judge", "lexical", str(path)]) == 0
    stats = capsys.readouterr().out
    assert "2 (1 failed)" in stats and "2.00 per calling turn" in stats


def test_schema_command_describes_version_2_with_tool_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    message = schema["$defs"]["Message"]["properties"]
    assert {"tool_calls", "tool_call_id", "name", "error"} <= set(message)
    assert schema["properties"]["schema_version"]["default"] == 2


def test_version_1_files_still_read_everywhere(tmp_path: Path) -> None:
    old = json.loads(roleplay([ANSWER], tools=[]).run().to_json())
    old["schema_version"] = 1
    for message in old["messages"]:
        for key in ("tool_calls", "tool_call_id", "name", "error"):
            message.pop(key)
    for agent in old["agents"]:
        agent.pop("tools")
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    harvest = ["harvest", "--judge", "lexical", str(path), "--format", "openai", "--out", str(tmp_path / "d")]
    for command in (["show", str(path)], ["stats", "--judge", "lexical", str(path)], harvest):
        assert main(command) == 0, command
    assert (tmp_path / "d" / "train.jsonl").read_text().count("\n") == 1


def test_a_batch_gives_every_executor_its_tools_and_harvests_tool_rows(tmp_path: Path) -> None:
    def responder(request: dict[str, Any]) -> str | FakeResponse:
        messages = request["messages"]
        if "who carries out your instructions" in messages[0]["content"]:
            return DONE if any(m["role"] == "assistant" for m in messages) else f"{INSTRUCTION} ({request['seed']})"
        if messages[-1]["role"] == "tool":
            return f"Solution: it comes to {messages[-1]['content']} ({request['seed']}).\nNext request."
        return FakeResponse(tool_calls=[{"name": "calculator", "arguments": {"expression": "3 * 2.40"}}])

    spec = tmp_path / "batch.yaml"
    spec.write_text(
        "assistant_roles: [Accountant, Bookkeeper]\nuser_roles: [Baker]\ntasks: [Price the bread]\n"
        "assistant_tools: [calculator]\nseed: 1\n"
    )
    with FakeOpenAIServer(responder) as server:
        argv = ["batch", str(spec), "--out", str(tmp_path / "out"), "--base-url", server.base_url, "--quiet"]
        assert main(argv) == 0
    dataset = tmp_path / "dataset"
    argv = [
        "harvest",
        "--judge",
        "lexical",
        str(tmp_path / "out"),
        "--format",
        "openai",
        "--out",
        str(dataset),
        "--quiet",
        "--tools-ok",
    ]
    assert main(argv) == 0
    rows = [json.loads(line) for line in (dataset / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    assert all(row["tools"][0]["function"]["name"] == "calculator" for row in rows)
    assert all(row["messages"][3] == {"role": "tool", "tool_call_id": row["messages"][2]["tool_calls"][0]["id"],
                                      "content": "7.2"} for row in rows)  # fmt: skip


def test_calls_from_an_agent_without_tools_are_re_asked_or_answered_with_an_error() -> None:
    reasked = RolePlay(
        "Price", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=ScriptedModel([call("calculator", expression="1+1"), ANSWER]),
    ).run()  # fmt: skip
    guard = next(event for event in reasked.events if event.kind == "guard")
    assert (guard.model_extra or {})["detail"] == "invalid tool call: Accountant has no tools"
    assert tool_messages(reasked) == [] and reasked.messages[1].content == ANSWER
    answered = RolePlay(
        "Price", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=ScriptedModel([call("calculator", expression="1+1"), ANSWER]), guards={"bad_tool_call": "off"},
    ).run()  # fmt: skip
    assert [message.error for message in tool_messages(answered)] == ["Accountant has no tools"]
    assert answered.termination and answered.termination.reason == "task_done"


def test_the_critic_judges_answers_and_lets_tool_calls_through() -> None:
    critic = ScriptedModel(["APPROVED"])
    transcript = RolePlay(
        "Price", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=ScriptedModel([call("calculator", expression="3*2.4"), ANSWER]), critic_model=critic,
        assistant_tools=["calculator"], critic={"mode": "review"},
    ).run()  # fmt: skip
    assert len(critic.calls) == 1 and ANSWER in critic.calls[0][-1]["content"]
    assert [m.role for m in transcript.messages] == ["user", "assistant", "tool", "assistant", "user"]


def test_a_json_route_conversation_exports_the_system_prompt_of_native_calls(tmp_path: Path) -> None:
    answer = json.dumps({"reply": ANSWER})
    executor = NoFunctionCalling(['{"tool": "calculator", "arguments": {"expression": "3 * 2.40"}}', answer])
    transcript = RolePlay(
        "Price the menu", assistant_role="Accountant", user_role="Baker",
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=executor, assistant_tools=["calculator"],
    ).run()  # fmt: skip
    info = transcript.agent("Accountant")
    assert info.tool_prompt and info.tool_prompt["route"] == "json"
    assert '{"tool": "<name>"' in info.system_prompt  # what the model was shown
    append(tmp_path / "t.jsonl", transcript)
    out = tmp_path / "d"
    assert (
        main(
            [
                "harvest",
                "--judge",
                "lexical",
                str(tmp_path / "t.jsonl"),
                "--format",
                "openai",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    row = json.loads((out / "train.jsonl").read_text())
    system = row["messages"][0]["content"]
    assert '{"tool"' not in system and system.endswith(info.tool_prompt["native"])
    assert row["messages"][2]["tool_calls"][0]["function"]["name"] == "calculator"
