"""Rows that say what happened: a row's system prompt asks for the turns the row contains.

With ``json_turns`` each turn is decoded as JSON and recorded as the plain text rendered from
it; a row whose system prompt still asked for JSON would teach a model to ignore its prompt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest

from rolecall import RolePlay, Transcript
from rolecall.agents.members import Member
from rolecall.dialogue import Society
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


# -- preference pairs ------------------------------------------------------------------------

INSTRUCTION = "Instruction: name a data source for prices\nInput: None"
GOOD = "Solution: Polygon.io has a free tier with daily prices.\nNext request."


def recovering_roleplay() -> Transcript:
    """The executor first promises instead of working (a guard re-asks), then answers."""
    return RolePlay(
        "Find price data", assistant_role="Analyst", user_role="Trader",
        user_model=ScriptedModel([INSTRUCTION, "<TASK_DONE>"]),
        assistant_model=ScriptedModel(["I will look into it later.", GOOD]),
    ).run()  # fmt: skip


def picked_roleplay() -> Transcript:
    """The critic picks one of three candidates, twice."""
    executor = ScriptedModel([GOOD, "Solution: Yahoo.\nNext request.", "Solution: the internet.\nNext request.",
                              "Solution: Alpha Vantage and Yahoo, both with free keys.\nNext request.",
                              "Solution: IEX.\nNext request.", "Solution: some site.\nNext request."])  # fmt: skip
    return RolePlay(
        "Find more price data", assistant_role="Analyst", user_role="Trader", assistant_model=executor,
        user_model=ScriptedModel([INSTRUCTION, "Instruction: name two more\nInput: None", "<TASK_DONE>"]),
        critic={"mode": "pick", "candidates": 3}, critic_model=ScriptedModel(["Option 1", "Option 1"]),
    ).run()  # fmt: skip


def test_dpo_pairs_come_from_rejected_drafts_and_the_critic(tmp_path: Path) -> None:
    transcript = recovering_roleplay()
    guards = [e.model_extra or {} for e in transcript.events if e.kind == "guard"]
    assert [g["rejected"] for g in guards] == ["I will look into it later."]
    source = tmp_path / "in.jsonl"
    append(source, transcript)
    append(source, picked_roleplay())
    report = harvest([source], tmp_path / "out", HarvestOptions(format="dpo"))
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    guard = guards[0]["guard"]
    [flaked] = by_source[f"guard:{guard}"]
    assert flaked["chosen"] == [{"role": "assistant", "content": GOOD}]
    assert flaked["rejected"] == [{"role": "assistant", "content": "I will look into it later."}]
    assert [m["role"] for m in flaked["prompt"]] == ["system", "user"]
    assert flaked["prompt"][-1]["content"] == INSTRUCTION and "JSON" not in flaked["prompt"][0]["content"]
    assert all(len(row["chosen"]) == len(row["rejected"]) == 1 for row in rows)
    assert report.pairs == {f"guard:{guard}": 1, "critic_pick": 4}  # two picks of three candidates each
    picked = {row["chosen"][0]["content"] for row in by_source["critic_pick"]}
    assert all(row["chosen"][0]["content"] != row["rejected"][0]["content"] for row in rows)
    assert len(picked) == 2 and all(row["prompt"][-1]["role"] == "user" for row in by_source["critic_pick"])
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Preference pairs" in card and "critic_pick: 4" in card
    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "out" / "train.jsonl"))["train"]
    assert loaded.num_rows == 5 and set(loaded.column_names) == {"prompt", "chosen", "rejected", "source"}


def test_dpo_follows_the_floor_and_the_perspective(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    append(source, recovering_roleplay())
    append(source, picked_roleplay())
    as_user = harvest([source], tmp_path / "user", HarvestOptions(format="dpo", perspective="user"))
    assert as_user.kept == 2 and as_user.rows["train"] == 0  # nothing of the instructor's was judged
    floor = harvest([source], tmp_path / "floor", HarvestOptions(format="dpo", marks={}, floor=_no_task_done()))
    assert floor.kept == 0 and floor.pairs == {}


def _no_task_done() -> Any:
    from rolecall.transcripts.quality import QualityFloor

    return QualityFloor(reasons=frozenset({"graph_complete"}))
