"""The command line, in-process: runs against a loopback server, errors, show, tasks, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rolecall.cli import main
from rolecall.testing import FakeOpenAIServer
from rolecall.transcripts import read

EXAMPLES = Path(__file__).parent.parent / "examples"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def graph_responder(request: dict[str, object]) -> str:
    """Instructor: one instruction per subtask, then the done token. Executor: a solution."""
    messages = request["messages"]
    assert isinstance(messages, list)
    step = len(messages)
    if "who carries out your instructions" in str(messages[0]["content"]):
        last = str(messages[-1]["content"])
        return "<TASK_DONE>" if last.startswith("Solution:") else f"Instruction: do part {step} now\nInput: None"
    return f"Solution: part {step} is done, with care.\nNext request."


def test_run_with_role_flags_saves_a_transcript(
    roleplay_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    code = main([
        "run", "--assistant-role", "Python Programmer", "--user-role", "Stock Trader",
        "--task", "Develop a trading bot", "--base-url", roleplay_server.base_url, "--model", "fake-model",
        "--seed", "4", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "Stock Trader" in printed and "ended: task_done" in printed
    [transcript] = read(out)
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert transcript.seed == 4
    assert transcript.agents[0].model == "fake-model"
    assert roleplay_server.bodies[0]["model"] == "fake-model"
    assert roleplay_server.bodies[0]["seed"] == 4


def test_environment_configures_the_endpoint_and_flags_win(
    roleplay_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", roleplay_server.base_url)
    monkeypatch.setenv("ROLECALL_MODEL", "from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-saved-0123456789")
    out = tmp_path / "runs.jsonl"
    args = ["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert main([*args, "--model", "from-flag"]) == 0
    models = [body["model"] for body in roleplay_server.bodies]
    assert models == ["from-env"] * (len(models) // 2) + ["from-flag"] * (len(models) // 2)
    assert "sk-never-saved" not in out.read_text()


def test_spec_with_subtasks_reaches_graph_complete_and_tasks_shows_the_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "album.jsonl"
    with FakeOpenAIServer(graph_responder) as server:
        code = main(["run", str(EXAMPLES / "album_website.yaml"), "--base-url", server.base_url, "--out", str(out)])
    assert code == 0
    [transcript] = read(out)
    assert transcript.termination is not None and transcript.termination.reason == "graph_complete"
    done_order = [
        (e.model_extra or {})["task"] for e in transcript.events
        if e.kind == "task_status" and (e.model_extra or {})["status"] == "done"
    ]  # fmt: skip
    assert done_order == ["design", "pages", "deploy"]
    capsys.readouterr()
    assert main(["tasks", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "3/3 done" in shown and "Publish the site" in shown and "✔ done" in shown
    assert main(["tasks", str(out), "--mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("assistant: {role: A}\nuser: {role: U}\n", "task: missing"),
        ("task: T\nassistant: {role: A}\n", "user: missing"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\ncolour: blue\n", "colour: unknown field"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\nmax_turns: many\n", "max_turns: Input should be a valid"),
        ("task: '   '\nassistant: {role: A}\nuser: {role: U}\n", "task: "),
        ("task: T\nassistant: {role: ''}\nuser: {role: U}\n", "assistant.role:"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\nsubtasks: []\n", "empty"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\nsubtasks:\n  - {id: a, title: A, after: [b]}\n"
         "  - {id: b, title: B, after: [a]}\n", "cycle: a -> b -> a"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\nsubtasks:\n  - {id: a, title: A, after: [zz]}\n",
         "unknown subtask 'zz'"),
        ("task: T\nassistant: {role: A}\nuser: {role: U}\nsubtasks:\n  - {id: a, title: A}\n  - {id: a, title: B}\n",
         "duplicate subtask id 'a'"),
        ("task: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
    ids=["no-task", "no-user", "unknown-field", "wrong-type", "blank-task", "empty-role", "empty-graph", "cycle",
         "unknown-dependency", "duplicate-id", "bad-yaml", "not-a-mapping"],
)  # fmt: skip
def test_bad_specs_exit_2_with_one_line(
    spec: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    assert main(["run", str(path), "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "o.jsonl")]) == 2
    error = one_line(capsys.readouterr().err)
    assert error.startswith(f"rolecall: error: {path}")
    assert expected in error


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], "missing --assistant-role"),
        (["run", "--assistant-role", "A", "--user-role", "U"], "missing --task"),
        (["run", "missing.yaml"], "missing.yaml: cannot read"),
        (["run", str(EXAMPLES / "ai_society.yaml"), "--task", "x"], "not both"),
        (["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--max-turns", "0"], "max_turns"),
        (["run", "--max-turns", "ten"], "invalid int value"),
        (["show", "nowhere.jsonl"], "nowhere.jsonl: no such file"),
        (["frobnicate"], "invalid choice"),
    ],
    ids=["nothing", "no-task", "missing-file", "spec-and-flags", "zero-turns", "bad-int", "show-missing", "command"],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    error = one_line(capsys.readouterr().err)
    assert expected in error
    assert "Traceback" not in error


def test_unwritable_output_fails_before_any_model_call(
    roleplay_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--base-url", roleplay_server.base_url]
    assert main([*argv, "--out", str(blocker / "runs.jsonl")]) == 2
    assert "cannot write transcripts" in one_line(capsys.readouterr().err)
    assert roleplay_server.requests == 0


def test_unreachable_endpoint_exits_1_naming_it_and_saves_the_failed_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    out = tmp_path / "runs.jsonl"
    code = main(["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--base-url", url,
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 1
    assert url in capsys.readouterr().err
    [transcript] = read(out)
    assert transcript.status == "failed"
    assert transcript.termination is not None and transcript.termination.reason == "error"
    assert transcript.error is not None and url in transcript.error.message


def test_without_the_embedded_server_the_error_names_both_ways_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROLECALL_LLAMA_HOME", str(tmp_path / "nothing-built"))  # llama.cpp's server never built
    code = main(["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--out", str(tmp_path / "o.jsonl")])
    assert code == 1
    error = one_line(capsys.readouterr().err)
    assert "pip install 'rolecall[local]'" in error and "--base-url" in error and "OPENAI_BASE_URL" in error


def test_show_renders_a_transcript_and_lists_many(
    roleplay_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    for task in ("First task", "Second task"):
        argv = ["run", "--assistant-role", "A", "--user-role", "U", "--task", task, "--base-url"]
        assert main([*argv, roleplay_server.base_url, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "2 conversations" in shown and "Second task" in shown and "Instruction: step 1" in shown
    first = next(iter(read(out)))
    assert main(["show", str(out), "--id", first.id]) == 0
    assert "First task" in capsys.readouterr().out


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "messages" in schema["properties"]


def test_resume_continues_a_stopped_conversation_in_the_same_file(
    roleplay_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "runs.jsonl"
    base = ["--base-url", roleplay_server.base_url, "--quiet"]
    argv = ["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--max-turns", "1", "--out", str(out)]
    assert main([*argv, *base]) == 0
    [stopped] = read(out)
    assert stopped.termination is not None and stopped.termination.reason == "max_turns"
    assert main(["resume", str(out), "--id", stopped.id, "--max-turns", "5", *base]) == 0
    first, resumed = read(out)
    assert first == stopped
    assert resumed.parent_id == stopped.id
    assert resumed.termination is not None and resumed.termination.reason == "task_done"
    assert resumed.messages[:2] == stopped.messages


def test_resume_refuses_a_finished_conversation(
    roleplay_server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.jsonl"
    argv = ["run", "--assistant-role", "A", "--user-role", "U", "--task", "T", "--out", str(out), "--quiet"]
    assert main([*argv, "--base-url", roleplay_server.base_url]) == 0
    assert main(["resume", str(out), "--base-url", roleplay_server.base_url]) == 2
    assert "nothing to resume" in one_line(capsys.readouterr().err)


def test_the_contract_spec_keeps_titles_with_commas(tmp_path: Path) -> None:
    from rolecall.spec import load_spec

    graph = load_spec(EXAMPLES / "album_website.yaml").graph()
    assert graph is not None
    assert [(s.id, s.title, s.after) for s in graph] == [
        ("design", "Choose a layout and colour scheme", []),
        ("pages", "Write the home, tour and contact pages", ["design"]),
        ("deploy", "Publish the site", ["pages"]),
    ]
    assert graph["deploy"].max_turns == 6


def test_custom_agent_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    def responder(request: dict[str, object]) -> str:
        messages = request["messages"]
        assert isinstance(messages, list)
        if "who carries out your instructions" in str(messages[0]["content"]):
            turns = sum(1 for m in messages if m["role"] == "assistant")
            return ["Instruction: give the total of 42.5, 31 and 18\nInput: None", "Instruction: name the shop\n"
                    "Input: None", "<TASK_DONE>"][turns]  # fmt: skip
        return "The Golden Crust"

    monkeypatch.chdir(tmp_path)
    with FakeOpenAIServer(responder) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        runpy.run_path(str(EXAMPLES / "custom_agent.py"), run_name="__main__")
    [transcript] = read(tmp_path / "transcripts" / "rolecall.jsonl")
    solutions = [m for m in transcript.messages if m.role == "assistant"]
    assert solutions[0].content == "Solution: the total is 91.5.\nNext request."
    assert solutions[0].model == "bookkeeper-rules"
    assert solutions[1].content == "Solution: The Golden Crust\nNext request."
    assert transcript.termination is not None and transcript.termination.reason == "task_done"


def test_plan_and_subtasks_together_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(EXAMPLES / "album_website.yaml"), "--plan", "--base-url", "http://127.0.0.1:9/v1"]
    assert main([*argv, "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "either subtasks or plan" in one_line(capsys.readouterr().err)
