"""Tools themselves: made from functions, built in, or served over MCP, and run safely within their limits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tool_scripts import ANSWER, DONE, EXAMPLES, INSTRUCTION, call, roleplay, tool_messages

from rolecall import RolePlay, Settings, Transcript, tool
from rolecall.cli import main
from rolecall.errors import SpecError
from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams, ToolCall
from rolecall.spec import load_spec
from rolecall.testing import FakeOpenAIServer, ScriptedModel
from rolecall.tools import PythonSandbox, Toolbox, ToolError, Toolkit
from rolecall.tools.builtin.calculator import evaluate
from rolecall.transcripts import append


@tool
def loaf_cost(flour_grams: float, price_per_kg: float = 1.2) -> str:
    """What the flour of one loaf costs.

    Args:
        flour_grams: grams of flour in the loaf
        price_per_kg: euros per kilogram
    """
    return f"{flour_grams / 1000 * price_per_kg:.2f} EUR"


def test_a_typed_function_becomes_a_tool_with_a_schema_from_its_signature_and_docstring() -> None:
    assert loaf_cost.name == "loaf_cost"
    assert loaf_cost.description == "What the flour of one loaf costs."
    assert loaf_cost.parameters == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "flour_grams": {"type": "number", "description": "grams of flour in the loaf"},
            "price_per_kg": {"type": "number", "description": "euros per kilogram", "default": 1.2},
        },
        "required": ["flour_grams"],
    }
    assert loaf_cost(500) == "0.60 EUR"  # still callable as a function
    toolbox = Toolbox([loaf_cost], Settings().tool_settings)
    assert toolbox.check(ToolCall(id="1", name="loaf_cost", arguments={"flour_grams": "500"})) is None  # coerced
    assert "flour_grams" in (toolbox.check(ToolCall(id="1", name="loaf_cost", arguments={})) or "")
    assert "no argument" in (
        toolbox.check(ToolCall(id="1", name="loaf_cost", arguments={"flour_grams": 1, "x": 2})) or ""
    ) or "Extra" in (toolbox.check(ToolCall(id="1", name="loaf_cost", arguments={"flour_grams": 1, "x": 2})) or "")
    assert "no tool 'oven'" in (toolbox.check(ToolCall(id="1", name="oven", arguments={})) or "")
    result = asyncio.run(toolbox.run(ToolCall(id="1", name="loaf_cost", arguments={"flour_grams": 500})))
    assert (result.content, result.error) == ("0.60 EUR", None)


def test_the_calculator_is_exact_and_never_evaluates_code() -> None:
    assert evaluate("0.1 + 0.2") == "0.3"
    assert evaluate("(2.5 * 120 + 40) / 12") == "85/3 (about 28.3333333333)"
    assert evaluate("2^10 + 15%") == "1024.15"
    assert evaluate("7 % 3") == "1"
    assert evaluate("round(2.675, 2)") == "2.68"
    for bad, problem in [
        ("__import__('os')", "unknown function __import__"),
        ("__import__('os').system('true')", "not arithmetic"),
        ("open", "unknown name"),
        ("1/0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("(" * 499 + "1" + ")" * 499, "nested too deeply|not an arithmetic expression"),
        ("1+" * 600 + "1", "longer than 1000 characters"),
        ("'text' * 3", "not arithmetic"),
    ]:
        with pytest.raises(ToolError, match=problem):
            evaluate(bad)


def test_notes_are_shared_by_the_agents_of_one_conversation_only() -> None:
    async def scenario() -> tuple[str, str]:
        first = Toolkit({"A": ["notes"], "B": ["notes"]}, Settings().tool_settings)
        other = Toolkit({"A": ["notes"]}, Settings().tool_settings)
        await first.open()
        await other.open()
        a, b, c = first.toolbox("A"), first.toolbox("B"), other.toolbox("A")
        assert a and b and c
        await a.run(ToolCall(id="1", name="notes", arguments={"action": "add", "text": "flour is 1.20/kg"}))
        read = await b.run(ToolCall(id="2", name="notes", arguments={"action": "read"}))
        elsewhere = await c.run(ToolCall(id="3", name="notes", arguments={"action": "read"}))
        return read.content, elsewhere.content

    assert asyncio.run(scenario()) == ("1. flour is 1.20/kg", "no notes yet")


def test_tool_names_in_a_spec_are_checked_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no built-in tool 'abacus'"):
        roleplay([ANSWER], tools=["abacus"])
    with pytest.raises(SpecError, match="cannot import 'no_such_module:f'"):
        roleplay([ANSWER], tools=["no_such_module:f"])
    with pytest.raises(SpecError, match=r"tools\.mcp"):
        roleplay([ANSWER], tools=[{"mcp": {"command": []}}])
    spec = tmp_path / "spec.yaml"
    spec.write_text("task: t\nassistant: {role: A, tools: [calculator, 7]}\nuser: {role: B}\n")
    with pytest.raises(SpecError):
        load_spec(spec).build(ScriptedModel([]))
    assert load_spec(EXAMPLES / "tools.yaml").assistant.tools == ["calculator", "python"]


def test_a_tool_that_raises_or_hangs_becomes_a_recorded_error_and_the_conversation_goes_on() -> None:
    @tool
    def broken(x: int) -> str:
        """Always fails."""
        raise RuntimeError("the oven is off")

    @tool
    def stuck(x: int) -> str:
        """Never returns."""
        time.sleep(3600)
        return "never"

    @tool
    async def stuck_async(x: int) -> str:
        """Never returns either."""
        await asyncio.sleep(3600)
        return "never"

    started = time.monotonic()
    transcript = roleplay(
        [call("broken", x=1), call("stuck", x=1), call("stuck_async", x=1), ANSWER],
        tools=[broken, stuck, stuck_async], tool_settings={"timeout": 0.5},
    ).run()  # fmt: skip
    assert time.monotonic() - started < 10
    errors = [message.error for message in tool_messages(transcript)]
    assert errors == ["RuntimeError: the oven is off", "timed out after 0.5 s", "timed out after 0.5 s"]
    assert transcript.termination and transcript.termination.reason == "task_done"


def test_nothing_a_tool_returns_can_break_the_transcript(tmp_path: Path) -> None:
    @tool
    def noisy() -> str:
        """Prints badly."""
        return "\ud800 broken \x00 surrogate " + "x" * 50_000

    transcript = roleplay([call("noisy"), ANSWER], tools=[noisy], tool_settings={"output_chars": 1000}).run()
    content = tool_messages(transcript)[0].content
    assert len(content) < 1100 and "more characters cut" in content and "\x00" not in content
    content.encode("utf-8")  # valid UTF-8
    append(tmp_path / "t.jsonl", transcript)
    assert Transcript.from_json((tmp_path / "t.jsonl").read_text()).messages[2].content == content


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import os\nprint(os.environ.get('OPENAI_API_KEY'))\nprint(sorted(os.environ))", None),
        ("x = bytearray(10**10)", "over the memory limit of 128 MB"),
        ("while True:\n    pass", "over the CPU time limit of 1 s"),
        ("import time\ntime.sleep(60)", "still running after 3 s"),
        ("print('x' * 10**7)", "printed more than 2000 characters"),
        ("1/0", "ZeroDivisionError"),
        ("print(6 * 7)\n6 * 7", None),
    ],
)
def test_the_python_sandbox_ends_every_snippet_within_its_limits(
    code: str, error: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-0123456789abcdef")
    sandbox = PythonSandbox(cpu_seconds=1, memory_mb=128, wall_seconds=3, output_chars=2000)
    toolbox = Toolbox([sandbox], Settings.derive(tool_settings={"timeout": 10}).tool_settings)
    started = time.monotonic()
    result = asyncio.run(toolbox.run(ToolCall(id="1", name="python", arguments={"code": code})))
    assert time.monotonic() - started < 8
    assert "sk-must-not-leak" not in result.content
    if error is None:
        assert result.error is None
    else:
        assert result.error is not None and error in result.error
    if code.startswith("import os"):
        assert result.content.startswith("None\n") and "OPENAI" not in result.content
    if code.startswith("print(6"):
        assert result.content == "42\n42\n"


def _processes_running(fragment: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if fragment in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_an_mcp_server_is_started_listed_called_and_stopped_with_the_conversation() -> None:
    server = str(EXAMPLES / "menu_server.py")
    model = ScriptedModel(
        [
            call("ingredient_cost", ingredient="flour", grams=500),
            call("ingredient_cost", ingredient="gold", grams=1),
            ANSWER,
        ]
    )
    seen: list[list[int]] = []

    class Watching(ScriptedModel):
        async def complete(self, messages: Any, *, params: GenerationParams | None = None) -> Completion:
            seen.append(_processes_running(server))
            return await model.complete(messages, params=params)

    transcript = RolePlay(
        "Price bread", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=Watching([]), assistant_tools=[{"mcp": {"command": ["python", server]}}],
    ).run()  # fmt: skip
    assert all(len(pids) == 1 for pids in seen)  # running while the conversation runs
    assert _processes_running(server) == []  # and gone after
    executor = transcript.agent("Accountant")
    assert sorted(t.name for t in executor.tools) == ["ingredient_cost", "list_ingredients"]
    assert executor.tools[0].source == {"mcp": {"command": ["python", server]}}
    first, second = tool_messages(transcript)
    assert (first.content, first.error) == ("500 g of flour cost 0.60 EUR", None)
    assert second.error and "no price for 'gold'" in second.error


def test_an_mcp_server_that_cannot_start_fails_the_run_with_one_line(tmp_path: Path) -> None:
    transcript = roleplay([ANSWER], tools=[{"mcp": {"command": ["python", "-c", "import sys; sys.exit(3)"]}}]).run()
    assert transcript.status == "failed" and transcript.termination
    assert transcript.termination.detail and "did not start" in transcript.termination.detail
    missing = roleplay([ANSWER], tools=[{"mcp": {"command": ["no-such-program-xyz"]}}]).run()
    assert missing.termination and "no program 'no-such-program-xyz'" in (missing.termination.detail or "")


@pytest.mark.parametrize(
    "given",
    [
        {"command": "python", "args": ["SERVER"]},  # as Claude Desktop, Cursor and VS Code write a server
        {"command": ["python"], "args": ["SERVER"]},
        {"command": ["python", "SERVER"]},
    ],
)
def test_an_mcp_server_is_configured_as_the_ecosystem_writes_it(given: dict[str, Any]) -> None:
    server = str(EXAMPLES / "menu_server.py")
    config = {key: [server if arg == "SERVER" else arg for arg in value] if key == "args" or isinstance(value, list)
              else value for key, value in given.items()}  # fmt: skip
    model = ScriptedModel([call("ingredient_cost", ingredient="flour", grams=500), ANSWER])
    transcript = RolePlay(
        "Price bread", assistant_role="Accountant", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=model, assistant_tools=[{"mcp": config}],
    ).run()  # fmt: skip
    [result] = tool_messages(transcript)
    assert (result.content, result.error) == ("500 g of flour cost 0.60 EUR", None)
    assert transcript.agent("Accountant").tools[0].source == {"mcp": config}  # named again as it was written


def test_mcp_args_that_are_not_strings_are_one_line() -> None:
    with pytest.raises(SpecError, match=r"^tools\.mcp: args: Input should be a valid list"):
        roleplay([ANSWER], tools=[{"mcp": {"command": "python", "args": "server.py"}}])


ENV_SERVER = """
import os
from mcp.server.mcpserver import MCPServer

server = MCPServer("env")


@server.tool()
def variable(key: str) -> str:
    \"\"\"The value of one of this server's environment variables.\"\"\"
    return os.environ.get(key, "(unset)")


server.run()
"""


def test_an_mcp_server_gets_the_variables_named_and_no_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "env_server.py"
    script.write_text(ENV_SERVER)
    monkeypatch.setenv("BAKERY_API_KEY", "sk-bakery")
    monkeypatch.setenv("BAKERY_SECRET", "not for the server")
    asks = [call("variable", key=key) for key in ("BAKERY_API_KEY", "BAKERY_SECRET", "OVEN")]
    model = ScriptedModel([*asks, ANSWER])
    spec = {"command": "python", "args": [str(script)], "pass_env": ["BAKERY_API_KEY"], "env": {"OVEN": "hot"}}
    transcript = RolePlay(
        "Check the keys", assistant_role="Clerk", user_role="Baker", user_model=ScriptedModel([INSTRUCTION, DONE]),
        assistant_model=model, assistant_tools=[{"mcp": spec}],
    ).run()  # fmt: skip
    assert [m.content for m in tool_messages(transcript)] == ["sk-bakery", "(unset)", "hot"]


def test_a_tool_filter_naming_a_tool_the_server_lacks_says_so_in_one_line() -> None:
    server = {"command": ["python", str(EXAMPLES / "menu_server.py")], "tools": ["ingredient_cost", "weather"]}
    transcript = roleplay([ANSWER], tools=[{"mcp": server}]).run()
    assert transcript.termination is not None and transcript.termination.reason == "error"
    assert transcript.termination.detail == f"MCP server 'python {EXAMPLES / 'menu_server.py'}' has no tool weather"


def test_a_servers_stray_line_is_not_logged_under_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    script = tmp_path / "chatty_server.py"
    script.write_text(ENV_SERVER.replace("server.run()", 'print("warming up the oven", flush=True)\nserver.run()'))
    spec = tmp_path / "spec.yaml"
    clerk = {"role": "Clerk", "tools": [{"mcp": {"command": "python", "args": [str(script)]}}]}
    spec.write_text(
        json.dumps({"task": "Check the oven", "assistant": clerk, "user": {"role": "Baker"}, "max_turns": 2})
    )

    def responder(request: dict[str, object]) -> str:
        system = str(request["messages"][0]["content"])  # type: ignore[index]
        return "<TASK_DONE>" if "who carries out your instructions" in system else "Solution: hot.\nNext request."

    with FakeOpenAIServer(responder) as server:
        for quiet in (True, False):
            caplog.clear()
            out = tmp_path / f"quiet-{quiet}.jsonl"
            argv = ["run", str(spec), "--base-url", server.base_url, "--out", str(out), *(["--quiet"] if quiet else [])]
            assert main(argv) == 0
            logged = [r for r in caplog.records if r.name.startswith("mcp") and r.levelno >= logging.ERROR]
            assert (logged == []) is quiet  # said without --quiet, silent with it


def test_the_examples_parse_and_name_their_tools() -> None:
    spec = load_spec(EXAMPLES / "mcp_tools.yaml")
    assert spec.assistant.tools[1] == {"mcp": {"command": ["python", "examples/menu_server.py"]}}
    assert isinstance(sys.executable, str) and os.path.exists(EXAMPLES / "menu_server.py")
    assert isinstance(ChatModel, type) and ChatMessage  # the public names tests rely on


def test_hostile_python_snippets_end_as_recorded_errors_and_the_conversation_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-0123456789abcdef")
    snippets = [
        "import os\nprint(os.environ.get('OPENAI_API_KEY'))",
        "x = bytearray(10**10)",
        "while True:\n    pass",
        "print('y' * 10**7)",
    ]
    started = time.monotonic()
    transcript = roleplay(
        [*(call("python", code=code) for code in snippets), ANSWER], tools=["python"],
        tool_settings={"timeout": 5, "output_chars": 2000, "python": {"cpu_seconds": 1, "memory_mb": 128}},
    ).run()  # fmt: skip
    assert time.monotonic() - started < 20
    results = tool_messages(transcript)
    assert len(results) == 4 and results[0].content == "None\n" and results[0].error is None
    errors = [result.error or "" for result in results[1:]]
    assert "memory limit" in errors[0] and "CPU time limit" in errors[1] and "printed more than" in errors[2]
    assert transcript.termination and transcript.termination.reason == "task_done"
    assert "sk-must-not-leak" not in transcript.to_json()
