"""Rows that say what happened: a row's system prompt asks for the turns the row contains.

With ``json_turns`` each turn is decoded as JSON and recorded as the plain text rendered from
it; a row whose system prompt still asked for JSON would teach a model to ignore its prompt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rolecall import RolePlay, Transcript
from rolecall.society import Member, Society
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.report import HarvestOptions

ROW_FORMATS = ("openai", "sharegpt", "alpaca", "trl", "trl-pc")


def json_roleplay(number: int) -> Transcript:
    instructor = [
        json.dumps({"instruction": f"List {number + 2} data sources for prices", "input": "None", "task_done": False}),
        json.dumps({"instruction": "Rank them by cost", "input": "the list", "task_done": False}),
        json.dumps({"instruction": "", "input": "", "task_done": True}),
    ]
    executor = [json.dumps({"solution": f"Polygon, Yahoo and {number} more, each with an API."}),
                json.dumps({"solution": "Yahoo is free; Polygon has a free tier; the rest are paid."})]  # fmt: skip
    return RolePlay(
        f"Find price data {number}", assistant_role="Analyst", user_role="Trader", assist={"json_turns": True},
        user_model=ScriptedModel(instructor), assistant_model=ScriptedModel(executor),
    ).run()  # fmt: skip


def json_society() -> Transcript:
    lead = [json.dumps({"message": "I will outline the post.", "task_done": False}),
            json.dumps({"message": "", "task_done": True})]  # fmt: skip
    return Society(
        "Write a post", [Member(name="Ann", role="Editor"), Member(name="Bo", role="Writer")],
        models={"Ann": ScriptedModel(lead), "Bo": ScriptedModel([json.dumps({"message": "Here is a draft."})])},
        assist={"json_turns": True},
    ).run()  # fmt: skip


def systems(row: dict[str, Any]) -> list[str]:
    """Every system prompt a row carries, whatever its format."""
    found = [row["system"]] if isinstance(row.get("system"), str) else []
    for key in ("messages", "conversations", "prompt"):
        for turn in row.get(key) or []:
            if turn.get("role", turn.get("from")) == "system":
                found.append(str(turn.get("content", turn.get("value"))))
    return found


@pytest.mark.parametrize("fmt", ROW_FORMATS)
@pytest.mark.parametrize("perspective", ["assistant", "user"])
def test_rows_of_json_turns_carry_the_plain_text_prompt(fmt: str, perspective: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    for number in range(2):
        append(source, json_roleplay(number))
    recorded = source.read_text().splitlines()
    assert all("Write each reply as JSON" in line for line in recorded)  # the record keeps what the agents saw
    report = harvest([source], tmp_path / "out", HarvestOptions(format=fmt, perspective=perspective))
    assert report.kept == 2
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert rows
    form = "Instruction: <one concrete step" if perspective == "user" else "Solution: <the actual work"
    for row in rows:
        prompts = systems(row)
        assert prompts and all("JSON" not in prompt and form in prompt for prompt in prompts)
        text = json.dumps(row)
        assert '\\"solution\\"' not in text and '\\"instruction\\"' not in text  # the turns are plain text too


def test_society_rows_leave_the_json_request_out(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    append(source, json_society())
    harvest([source], tmp_path / "out", HarvestOptions(format="openai", perspective="Ann"))
    [row] = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    [system] = systems(row)
    assert "JSON" not in system and "You are Ann" in system
