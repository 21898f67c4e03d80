"""The content checks: the examples that used to count as on task are caught, realistic good turns pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rolecall import GuardSettings, RolePlay, Transcript
from rolecall.cli import main
from rolecall.errors import SpecError
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append
from rolecall.transcripts.content import Context, instruction_problem, solution_problem
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.quality import QualityFloor, heuristic_score
from rolecall.transcripts.report import HarvestOptions
from rolecall.transcripts.stats import collect

DONE = "<TASK_DONE>"
TASK = "Develop a trading bot for the stock market"
ROLES = ("Python Programmer", "Stock Trader")
START = Context(TASK, roles=ROLES)
ASKED = "Write a Python function that downloads daily closing prices for a stock ticker."
AFTER_ONE = Context(
    TASK, roles=ROLES, instructions=(ASKED,), last_instruction=ASKED,
    last_solution="def closing_prices(ticker): return download(ticker)['Close']", worked=True,
)  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "context", "reason"),
    [
        ("Instruction: Solution: here is the whole bot\nInput: None", START, "solves"),  # rendered from a JSON turn
        ("Instruction: The weather in Paris is nice today.\nInput: None", START, "off_topic"),
        ("Instruction: Here is the bot: ```python\nprint(1)\n```\nInput: None", START, "solves"),
        ("Instruction: The task is done.\nInput: None", AFTER_ONE, "status"),
        ("Instruction: Your task is already completed; give the next instruction.\nInput: None", AFTER_ONE, "status"),
        ("Instruction: Not done yet\nInput: Just started", AFTER_ONE, "status"),
        (f"Instruction: {ASKED}\nInput: None", AFTER_ONE, "repeated"),
        ("Instruction: Develop a trading bot for the stock market.\nInput: None", START, "restates_task"),
        ("Instruction:  \nInput: None", START, "empty"),
        ("Let us build the bot together.", START, "off_format"),
        (DONE, START, "done_without_work"),
    ],
)
def test_off_task_instructions_are_caught(reply: str, context: Context, reason: str) -> None:
    assert instruction_problem(reply, context, DONE) == reason


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Solution: Instruction: you write the code\nNext request.", "instructs"),  # rendered from a JSON turn
        ("Solution: Bicycles have legs.\nNext request.", "no_substance"),
        ("Solution: Sure, I will write that function for you.\nNext request.", "promise"),
        (f"Solution: {ASKED}\nNext request.", "copies_instruction"),
        ("Solution: The task is complete.\nNext request.", "status"),
        ("Solution: Could you tell me which ticker to use?\nNext request.", "instructs"),
        ("Here is the code you asked for.", "off_format"),
    ],
)
def test_off_task_solutions_are_caught(reply: str, reason: str) -> None:
    assert solution_problem(reply, AFTER_ONE) == reason


@pytest.mark.parametrize(
    "reply",
    [
        "Instruction: Write a Python function that downloads daily closing prices for a stock ticker.\nInput: AAPL",
        "Instruction: List the data sources the trading bot could use for live prices.\nInput: None",
        "Instruction: Decide the rule the bot follows to buy and sell shares.\nInput: a 20-day moving average",
    ],
)
def test_good_first_instructions_pass(reply: str) -> None:
    assert instruction_problem(reply, START, DONE) is None


@pytest.mark.parametrize(
    "reply",
    [
        "Instruction: Add a moving average crossover rule that decides when the bot buys.\nInput: 20 and 50 days",
        "Instruction: Test the function on last year's prices and report the profit.\nInput: None",
        DONE,  # done after real work
    ],
)
def test_good_later_instructions_pass(reply: str) -> None:
    assert instruction_problem(reply, AFTER_ONE, DONE) is None


@pytest.mark.parametrize(
    "reply",
    [
        "Solution: ```python\nimport yfinance as yf\n\ndef closing_prices(ticker):\n"
        "    return yf.download(ticker)['Close']\n```\nNext request.",
        "Solution: Use the requests library to call a price API, parse the JSON and return the close prices as a "
        "list, one per trading day.\nNext request.",
        "Solution: I will use pandas: read the CSV of daily prices, keep the Close column and return it as a "
        "Series indexed by date, so the bot can compute moving averages from it.\nNext request.",
        "Solution: You can use pandas: read the daily prices, keep the Close column and return it.\nNext request.",
    ],
)
def test_good_solutions_pass(reply: str) -> None:
    assert solution_problem(reply, AFTER_ONE) is None


# -- the quality floor and the stats read the same checks ---------------------------------------


def held(instructions: list[str], solutions: list[str], task: str = TASK) -> Transcript:
    return RolePlay(
        task, assistant_role="Python Programmer", user_role="Stock Trader", guards=GuardSettings.off(),
        user_model=ScriptedModel([*instructions, DONE]), assistant_model=ScriptedModel(solutions),
    ).run()  # fmt: skip


GOOD = held(
    [f"Instruction: {ASKED}\nInput: None", "Instruction: Add a moving average rule that decides when the bot buys.\n"
     "Input: 20 and 50 days"],
    ["Solution: Use the requests library to call a price API and return the close prices as a list.\nNext request.",
     "Solution: Compute both averages with pandas rolling means; buy when the short one crosses above.\nNext request."],
)  # fmt: skip
BAD = {
    "content:no_substance": held(
        [f"Instruction: {ASKED}\nInput: None"], ["Solution: Bicycles have legs.\nNext request."]
    ),
    "content:off_topic": held(
        ["Instruction: The weather in Paris is nice today.\nInput: None"],
        ["Solution: It is sunny in Paris with a light breeze from the west.\nNext request."],
    ),
    "content:status": held(
        [f"Instruction: {ASKED}\nInput: None", "Instruction: The task is done.\nInput: None"],
        ["Solution: Use the requests library to call a price API and return the close prices.\nNext request."] * 2,
    ),
    "content:repeated": held(
        [f"Instruction: {ASKED}\nInput: None", f"Instruction: {ASKED} Thanks.\nInput: None"],
        [
            "Solution: Use the requests library to call a price API and return the close prices.\nNext request.",
            "Solution: The same function works: call the API, parse it and return the close prices.\nNext request.",
        ],
    ),
    "content:promise": held([f"Instruction: {ASKED}\nInput: None"], ["Solution: I will write it.\nNext request."]),
    "content:done_without_work": held([], []),
}


def test_the_floor_drops_by_content_and_counts_each_reason(tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    for transcript in [GOOD, *BAD.values()]:
        append(source, transcript, fsync=False)
    report = harvest([source], tmp_path / "out", HarvestOptions())
    assert report.kept == 1
    assert dict(report.dropped) == dict.fromkeys(BAD, 1)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| content:no_substance | 1 |" in card and "on task by the content checks" in card
    structural = harvest([source], tmp_path / "all", HarvestOptions(floor=QualityFloor(content="off")))
    assert structural.kept == len(BAD)  # all but the one declared done at once (an empty turn to the structure)
    assert not [reason for reason in structural.dropped if reason.startswith("content:")]


def test_done_without_real_work_is_not_a_success_in_stats() -> None:
    stats = collect([GOOD, BAD["content:done_without_work"], BAD["content:promise"]])
    assert stats.reasons == {"task_done": 1, "task_done_without_work": 2}


def test_the_heuristic_score_counts_turns_off_task() -> None:
    assert heuristic_score(GOOD) > heuristic_score(BAD["content:off_topic"])
    assert heuristic_score(GOOD) > heuristic_score(BAD["content:repeated"])


def test_cli_harvest_can_keep_the_floor_to_structure(tmp_path: Path) -> None:
    source = tmp_path / "t.jsonl"
    append(source, BAD["content:off_topic"], fsync=False)
    assert (
        main(
            [
                "harvest",
                "--judge",
                "lexical",
                str(source),
                "--format",
                "openai",
                "--out",
                str(tmp_path / "a"),
                "--quiet",
            ]
        )
        == 0
    )
    assert not (tmp_path / "a" / "train.jsonl").exists() or not (tmp_path / "a" / "train.jsonl").read_text()
    args = [
        "harvest",
        "--judge",
        "lexical",
        str(source),
        "--format",
        "openai",
        "--out",
        str(tmp_path / "b"),
        "--content-checks",
        "off",
    ]
    assert main([*args, "--quiet"]) == 0
    assert len((tmp_path / "b" / "train.jsonl").read_text().splitlines()) == 1


MIXED = held(
    [f"Instruction: {ASKED}\nInput: None", "Instruction: Add a moving average rule that decides when the bot buys.\n"
     "Input: 20 and 50 days"],
    ["Solution: Use the requests library to call a price API and return the close prices as a list.\nNext request.",
     "Solution: Sure, I will add that rule.\nNext request."],
)  # fmt: skip


@pytest.mark.parametrize(("fmt", "trained"), [("openai", 1), ("trl-pc", 1), ("alpaca", 1)])
def test_content_checks_by_turn_train_only_the_turns_on_task(tmp_path: Path, fmt: str, trained: int) -> None:
    source = tmp_path / "t.jsonl"
    append(source, MIXED, fsync=False)
    options = HarvestOptions(format=fmt, floor=QualityFloor(content="turns"))
    report = harvest([source], tmp_path / "out", options)
    assert report.kept == 1 and report.untrained == {"promise": 1}
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    if fmt == "openai":
        weights = [(m["content"][:14], m["weight"]) for m in rows[0]["messages"] if m["role"] == "assistant"]
        assert weights == [("Solution: Use ", 1), ("Solution: Sure", 0)]
    else:
        assert len(rows) == trained
        answer = rows[0]["completion"][0]["content"] if fmt == "trl-pc" else rows[0]["output"]
        assert answer.startswith("Solution: Use the requests library")
    assert "were off task and are context only" in (tmp_path / "out" / "README.md").read_text()
    # by conversation (the default), the promise drops the whole role-play
    assert harvest([source], tmp_path / "whole", HarvestOptions(format=fmt)).kept == 0


def test_content_checks_by_turn_need_a_format_that_can_leave_turns_out() -> None:
    with pytest.raises(SpecError, match="--content-checks turns"):
        HarvestOptions(format="trl", floor=QualityFloor(content="turns"))
