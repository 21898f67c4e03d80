"""A person in the loop: playing a side, taking an exchange back, quitting, judging as the critic."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rolecall import CriticSettings, RolePlay
from rolecall.agents.human import HumanAgent, HumanTurn, Person
from rolecall.agents.members import Member
from rolecall.dialogue import Society
from rolecall.testing import FakeOpenAIServer, ScriptedModel
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.quality import QualityFloor
from rolecall.transcripts.report import HarvestOptions
from rolecall.transcripts.store import append

INSTRUCTION = "Instruction: name a data source for prices\nInput: None"


class Typist:
    """A person whose lines are scripted; records what they were shown and told."""

    def __init__(self, lines: list[str]) -> None:
        self.lines: Iterator[str] = iter(lines)
        self.turns: list[HumanTurn] = []
        self.told: list[str] = []

    def ask(self, turn: HumanTurn) -> str:
        self.turns.append(turn)
        return next(self.lines)

    def person(self, plays: str | None) -> Person:
        return Person(ask=self.ask, tell=self.told.append, plays=plays)


def test_a_person_plays_the_instructor_and_is_recorded_as_human() -> None:
    typist = Typist([INSTRUCTION, "<TASK_DONE>"])
    executor = ScriptedModel(["Solution: Polygon.io has a free tier.\nNext request."])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", assistant_model=executor,
        person=typist.person("user"), seed=3,
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert [(m.speaker, m.model) for m in transcript.messages] == [
        ("Trader", "human"), ("Programmer", "scripted"), ("Trader", "human"),
    ]  # fmt: skip
    assert transcript.messages[0].content == INSTRUCTION
    trader = next(agent for agent in transcript.agents if agent.kind == "user")
    assert trader.model == "human"
    # the person's brief is the instructor's system prompt; the second time they see the executor's answer
    assert "Programmer" in typist.turns[0].messages[0]["content"]
    assert typist.turns[1].messages[-1]["content"].startswith("Solution: Polygon.io")
    assert "<TASK_DONE>" in typist.turns[0].hint


def test_guards_tell_the_person_and_never_reask() -> None:
    typist = Typist(["just do it", "<TASK_DONE>"])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", person=typist.person("user"),
        assistant_model=ScriptedModel(["Solution: done.\nNext request."]),
    ).run()  # fmt: skip
    assert transcript.messages[0].content == "just do it" and transcript.messages[0].reasks == 0
    assert any("off_format" in told and "asked again" in told for told in typist.told)
    flags = [e.model_extra or {} for e in transcript.events if e.kind == "guard"]
    assert flags and all(flag["action"] == "flag" for flag in flags)


def test_undo_takes_back_the_exchange_and_the_model_answers_the_new_turn() -> None:
    typist = Typist([INSTRUCTION, "/undo", "Instruction: name two brokers\nInput: None", "<TASK_DONE>"])
    executor = ScriptedModel(["Solution: Yahoo.\nNext request.", "Solution: Alpaca and IBKR.\nNext request."])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", assistant_model=executor,
        person=typist.person("user"),
    ).run()  # fmt: skip
    contents = [m.content for m in transcript.messages]
    assert contents == ["Instruction: name two brokers\nInput: None", "Solution: Alpaca and IBKR.\nNext request.",
                        "<TASK_DONE>"]  # fmt: skip
    assert [m.index for m in transcript.messages] == [0, 1, 2] and transcript.messages[0].turn == 1
    [undo] = [e.model_extra or {} for e in transcript.events if e.kind == "undo"]
    assert [m["content"] for m in undo["messages"]] == [INSTRUCTION, "Solution: Yahoo.\nNext request."]
    assert any("took back 2" in told for told in typist.told)


def test_undo_as_the_executor_lets_the_model_instruct_again() -> None:
    typist = Typist(["Solution: first try.", "/undo", "Solution: second try.", "Solution: more."])
    instructor = ScriptedModel([INSTRUCTION, "Instruction: next\nInput: None", "Instruction: again\nInput: None",
                                "<TASK_DONE>"])  # fmt: skip
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", user_model=instructor,
        person=typist.person("Programmer"), guards={"enabled": False},
    ).run()  # fmt: skip
    said = [(m.speaker, m.content) for m in transcript.messages]
    assert said[:3] == [("Trader", INSTRUCTION), ("Programmer", "Solution: second try."),
                        ("Trader", "Instruction: again\nInput: None")]  # fmt: skip
    assert len(instructor.calls) == 4  # the taken-back instruction was drawn again


def test_nothing_to_undo_and_quit_saves_as_interrupted() -> None:
    typist = Typist(["/undo", "/quit"])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", person=typist.person("user"),
        assistant_model=ScriptedModel(["Solution: x.\nNext request."]),
    ).run()  # fmt: skip
    assert typist.told[0] == "nothing to take back yet"
    assert transcript.termination is not None and transcript.termination.reason == "interrupted"
    assert transcript.messages == []


def test_a_person_plays_a_society_member_and_a_plain_agent() -> None:
    typist = Typist(["I will draft the outline.", "<TASK_DONE>"])
    members = [Member(name="Ann", role="Editor"), Member(name="Bo", role="Writer")]
    transcript = Society(
        "Write a post", members, model=ScriptedModel(["Bo: here is a draft."], repeat_last=True),
        person=typist.person("Ann"), max_turns=4,
    ).run()  # fmt: skip
    assert transcript.messages[0].speaker == "Ann" and transcript.messages[0].model == "human"
    with pytest.raises(Exception, match="not a member"):
        Society("Write", members, model=ScriptedModel(["x"]), person=typist.person("Cy"))
    reviewer = Typist(["  fine  "])
    completion = asyncio.run(HumanAgent("Reviewer", ask=reviewer.ask).step([]))
    assert (completion.text, completion.model) == ("fine", "human")
    assert reviewer.turns[0].messages[0]["content"] == "You are Reviewer."


def test_human_critic_picks_and_reviews() -> None:
    drafts = ["Solution: Yahoo.\nNext request.", "Solution: Polygon's REST API.\nNext request."]
    typist = Typist(["none of them", "2"])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader", critic={"mode": "human", "candidates": 2},
        user_model=ScriptedModel([INSTRUCTION, "<TASK_DONE>"]), assistant_model=ScriptedModel(drafts),
        person=typist.person(None),
    ).run()  # fmt: skip
    assert transcript.messages[1].content == drafts[1]
    assert "Option 2:" in (typist.turns[0].question or "")
    assert typist.told == ["type the number of the best option, 1 to 2"]
    critic = next(agent for agent in transcript.agents if agent.kind == "critic")
    assert critic.model == "human"

    typist = Typist(["name a real provider", "y"])
    transcript = RolePlay(
        "Build a bot", assistant_role="Programmer", user_role="Trader",
        critic=CriticSettings(by="human", max_revisions=2), person=typist.person(None),
        user_model=ScriptedModel([INSTRUCTION, "<TASK_DONE>"]),
        assistant_model=ScriptedModel(["Solution: a site.\nNext request.", "Solution: Polygon.io.\nNext request."]),
    ).run()  # fmt: skip
    assert transcript.messages[1].content == "Solution: Polygon.io.\nNext request."
    events = [e.model_extra or {} for e in transcript.events if e.kind == "critic"]
    assert [(e["approved"], e["feedback"]) for e in events] == [(False, "name a real provider"), (True, None)]
    with pytest.raises(Exception, match="needs a person"):
        RolePlay("Build", assistant_role="A", user_role="U", critic={"by": "human"}, model=ScriptedModel(["x"]))


def test_floor_drops_human_turns_on_request(tmp_path: Path) -> None:
    typist = Typist([INSTRUCTION, "<TASK_DONE>"])
    transcript = RolePlay(
        "Build a bot that trades on live prices", assistant_role="Programmer", user_role="Trader",
        person=typist.person("user"),
        assistant_model=ScriptedModel(["Solution: Polygon.io has a free tier of prices.\nNext request."]),
    ).run()  # fmt: skip
    append(tmp_path / "t.jsonl", transcript)
    kept = harvest([tmp_path / "t.jsonl"], tmp_path / "a", HarvestOptions())
    dropped = harvest([tmp_path / "t.jsonl"], tmp_path / "b", HarvestOptions(floor=QualityFloor(human=False)))
    assert kept.kept == 1 and dropped.kept == 0 and dropped.dropped["human_turns"] == 1


def test_cli_human_reads_turns_from_standard_input(tmp_path: Path, roleplay_server: FakeOpenAIServer) -> None:
    out = tmp_path / "run.jsonl"
    typed = f"{INSTRUCTION}\n\n/undo\nInstruction: list two brokers\nInput: None\n\n<TASK_DONE>\n\n"
    result = subprocess.run(
        [sys.executable, "-m", "rolecall.cli", "run", "--assistant-role", "Programmer", "--user-role", "Trader",
         "--task", "Build a bot", "--human", "user", "--base-url", roleplay_server.base_url, "--model", "fake",
         "--out", str(out)],
        input=typed, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert [m["model"] for m in record["messages"]] == ["human", "fake", "human"]
    assert record["messages"][0]["content"] == "Instruction: list two brokers\nInput: None"
    assert "your brief as Trader" in result.stdout and "took back 2 message(s)" in result.stdout
