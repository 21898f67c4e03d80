"""``rolecall eval``: a suite held against a scripted model gives exactly the shares its turns earn."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rolecall.cli import main
from rolecall.errors import ModelError, SpecError
from rolecall.evaluation import Evaluation, eval_label, load_suite
from rolecall.evaluation.scoring import reasks
from rolecall.judges import LexicalJudge
from rolecall.models.base import ChatMessage
from rolecall.testing import FakeOpenAIServer, FakeResponse, FunctionModel
from rolecall.transcripts import store

SUITE = """
name: tiny
version: 3
settings: {max_turns: 2, assist: {json_turns: false}}
roleplays:
  - {assistant: Python Programmer, user: Stock Trader, task: "Develop a trading bot for the stock market", seed: 1}
  - {assistant: Golang Programmer, user: Bond Trader, task: "Develop a trading bot for the bond market", seed: 2}
  - {assistant: Bicycle Mechanic, user: Commuter, task: "Repair the squeaking brakes of a city bicycle", seed: 3}
"""
DONE = "<TASK_DONE>"
# Each agent's replies, in the order it is asked (re-asks included), keyed by its role.
SCRIPT = {
    # on task, after one re-ask of the executor's first draft (no "Solution:")
    "Stock Trader": ["Instruction: Write a function that downloads daily stock prices for the bot.\nInput: None", DONE],
    "Python Programmer": [
        "Sure, I will do it.",
        "Solution: ```python\ndef prices(ticker):\n    return download(ticker)['Close']\n```\nNext request.",
    ],
    # the markers are right and the content is not: the instructor solves, the executor instructs; the instructor
    # repeats itself until the loop guard gives up
    "Bond Trader": ["Instruction: Solution: here is the whole bot\nInput: None"] * 4,
    "Golang Programmer": ["Solution: Instruction: you write the code\nNext request."],
    # off topic, no substance, then done without any real work
    "Commuter": ["Instruction: The weather in Paris is nice today.\nInput: None", DONE],
    "Bicycle Mechanic": ["Solution: Bicycles have legs.\nNext request."],
}


def scripted() -> FunctionModel:
    asked: Counter[str] = Counter()

    def reply(messages: Sequence[ChatMessage]) -> str:
        system = messages[0]["content"]
        role = next(role for role in SCRIPT if system.startswith(f"You are {role}."))
        asked[role] += 1
        return SCRIPT[role][min(asked[role], len(SCRIPT[role])) - 1]

    return FunctionModel(reply, name="scripted")


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def test_eval_gives_exactly_the_shares_the_turns_earn(suite_file: Path, tmp_path: Path) -> None:
    evaluation = Evaluation(load_suite(suite_file), {}, tmp_path / "eval", "guards")
    card = pytest.importorskip("asyncio").run(evaluation.hold(scripted(), LexicalJudge(), concurrency=1))
    instructor, executor = card.sides["instructor"], card.sides["executor"]
    # every configuration is divided by the same slots: 3 role-plays x 2 turns per side
    assert (instructor.slots, executor.slots) == (6, 6)
    assert (instructor.first_on, instructor.final_on) == (2, 2)
    assert (executor.first_on, executor.final_on) == (1, 2)  # the re-asked draft was off format
    assert executor.first_off == Counter(
        {"off_format": 1, "instructs": 1, "ended:loop": 1, "no_substance": 1, "ended:task_done": 1}
    )
    assert instructor.final_off == Counter({"solves": 1, "gave_up": 1, "off_topic": 1, "done_without_work": 1})
    assert instructor.first_off == Counter({"solves": 2, "off_topic": 1, "done_without_work": 1})
    assert card.successes == 1
    assert card.endings == Counter({"task_done": 1, "loop": 1, "task_done_without_work": 1})
    assert card.reasks == 3  # one for the promise, two before the loop guard gave up
    assert card.turns == 9
    saved = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert saved["scorecard"]["sides"]["executor"]["first_draft_share"] == round(1 / 6, 4)
    assert saved["suite"] == "tiny v3"


def test_a_rerun_resumes_and_another_configuration_is_refused(suite_file: Path, tmp_path: Path) -> None:
    import asyncio

    suite = load_suite(suite_file)
    out = tmp_path / "eval"
    asyncio.run(Evaluation(suite.first(2), {}, out).hold(scripted(), LexicalJudge(), concurrency=2))
    model = scripted()
    card = asyncio.run(Evaluation(suite.first(2), {}, out).hold(model, LexicalJudge(), concurrency=2))
    assert model.calls == [] and card.conversations == 2  # nothing held twice
    with pytest.raises(SpecError, match="other settings"):
        asyncio.run(Evaluation(suite.first(2), {"max_turns": 3}, out).hold(scripted(), LexicalJudge()))
    assert len(list(store.read(out / "conversations.jsonl"))) == 2


def test_reasks_do_not_count_the_verdict_a_guard_gave_up_on(suite_file: Path, tmp_path: Path) -> None:
    import asyncio

    out = tmp_path / "eval"
    asyncio.run(Evaluation(load_suite(suite_file), {}, out).hold(scripted(), LexicalJudge(), concurrency=1))
    looped = next(
        t for t in store.read(out / "conversations.jsonl") if t.termination and t.termination.reason == "loop"
    )
    assert reasks(looped) == 2


def test_the_cli_holds_rolecalls_own_suite_against_an_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = load_suite()
    assert len(suite.roleplays) >= 30 and suite.version >= 1

    def reply(request: dict[str, Any]) -> str:
        system = request["messages"][0]["content"]
        if "carries out your instructions" in system:  # the instructor
            return "Instruction: Write the first concrete step of the plan for this task.\nInput: None"
        return "Solution: Here are the first details of the plan, with numbers.\nNext request."

    with FakeOpenAIServer(reply) as server:
        code = main([
            "eval", "--limit", "2", "--max-turns", "1", "--base-url", server.base_url, "--model", "m",
            "--out", str(tmp_path / "e"), "--json", str(tmp_path / "card.json"), "--concurrency", "1",
            "--judge", "lexical",
        ])  # fmt: skip
    assert code == 0
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["suite"] == "rolecall-core[:2] v1" and card["roleplays"] == 2
    assert card["scorecard"]["sides"]["instructor"]["slots"] == 2
    assert "first drafts on task" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("suite", "message"),
    [
        ("name: x\nversion: 1\nroleplays: []", "roleplays"),
        ("name: x\nversion: 1\nsettings: {task: t}\nroleplays: [{assistant: a, user: b, task: c}]", "settings: task"),
        (
            "name: x\nversion: 1\nroleplays: [{assistant: a, user: b, task: c}, {assistant: a, user: b, task: c}]",
            "twice",
        ),
        ("name: x\nversion: 1\nsettings: {max_turns: -1}\nroleplays: [{assistant: a, user: b, task: c}]", "max_turns"),
    ],
)
def test_a_bad_suite_is_one_line(tmp_path: Path, suite: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    assert main(["eval", "--suite", str(path), "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_spec_may_not_give_roles_or_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("task: something\nmax_turns: 2\n", encoding="utf-8")
    assert main(["eval", str(spec), "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 2
    assert "the suite gives" in capsys.readouterr().err


def test_the_label_says_what_a_configuration_turns_on() -> None:
    suite = load_suite()
    spec = suite.spec_for(suite.roleplays[0], {"guards": {"enabled": False}, "assist": {"few_shot": True}})
    assert eval_label(spec.settings()) == "no-guards+few-shot"
    spec = suite.spec_for(suite.roleplays[0], {"assist": {"json_turns": True}, "critic": {"mode": "pick"}})
    assert eval_label(spec.settings()) == "guards+json+critic-pick"


def test_overrides_are_laid_over_the_suite_section_by_section(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace("assist: {json_turns: false}", "assist: {json_turns: false, stops: false}"))
    suite = load_suite(path)
    spec = suite.spec_for(suite.roleplays[0], {"assist": {"few_shot": True}, "max_turns": 3})
    assist = spec.settings().assist
    assert (assist.json_turns, assist.stops, assist.few_shot) == (False, False, True)
    assert spec.settings().max_turns == 3


def test_a_failing_endpoint_saves_the_failed_role_plays_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(lambda request: FakeResponse(status=401)) as server:
        code = main(
            [
                "eval",
                "--limit",
                "2",
                "--base-url",
                server.base_url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "e"),
                "--judge",
                "lexical",
            ]
        )
    assert code == 1
    assert "2 role-plays failed" in capsys.readouterr().err
    saved = list(store.read(tmp_path / "e" / "conversations.jsonl"))
    assert [t.status for t in saved] == ["failed", "failed"]
    assert json.loads((tmp_path / "e" / "eval.json").read_text())["scorecard"]["failed"] == 2


def test_an_evaluation_runs_on_the_batch_runner_and_a_rerun_holds_the_failed_again(
    suite_file: Path, tmp_path: Path
) -> None:
    import asyncio

    def failing(messages: Sequence[ChatMessage]) -> str:
        raise ModelError("the endpoint is down")

    suite = load_suite(suite_file).first(2)
    out = tmp_path / "eval"
    card = asyncio.run(Evaluation(suite, {}, out).hold(FunctionModel(failing, name="scripted"), LexicalJudge()))
    assert card.failed == 2
    # the batch runner's folder: every attempt in failures.jsonl, each failed role-play saved once, a manifest
    assert [t.status for t in store.read(out / "failures.jsonl")] == ["failed", "failed"]
    assert [t.status for t in store.read(out / "conversations.jsonl")] == ["failed", "failed"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"planned": 2, "done": 0, "failed": 2, "remaining": 0, "failed_attempts": 2}
    assert manifest["spec"]["suite"] == "tiny[:2] v3"
    model = scripted()
    card = asyncio.run(Evaluation(suite, {}, out).hold(model, LexicalJudge()))
    assert card.failed == 0 and card.conversations == 2 and model.calls  # the failed two were held again
    latest = {t.id: t.status for t in store.read(out / "conversations.jsonl")}
    assert list(latest.values()) == ["ok", "ok"]
    assert json.loads((out / "eval.json").read_text())["scorecard"]["failed"] == 0
