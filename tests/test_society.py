"""Societies of more than two agents: every turn policy completes; moderators fall back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rolecall.agents.members import Member
from rolecall.cli import main
from rolecall.dialogue import Society
from rolecall.dialogue.policies.moderator import match_name
from rolecall.errors import SpecError
from rolecall.models.base import ChatMessage
from rolecall.testing import FakeOpenAIServer, FunctionModel
from rolecall.transcripts import read
from rolecall.turns import TurnSettings

EXAMPLES = Path(__file__).parent.parent / "examples"
WORDS = (
    "files stream tokens unicode totals tests empty help flags output speed memory lines bytes errors paths "
    "globbing encoding sorting json csv report exit codes docs"
).split()
TEAM = [
    Member(name="Priya", role="Product Manager"),
    Member(name="Sam", role="Engineer"),
    Member(name="Rae", role="Reviewer"),
]


def team_model(moderator_answer: str = "Sam", done_after: int = 6) -> FunctionModel:
    """Members contribute numbered lines; the lead says done after ``done_after`` turns."""
    spoken = {"count": 0}

    def reply(messages: Sequence[ChatMessage]) -> str:
        system = messages[0]["content"]
        if system.startswith("You chair"):
            return moderator_answer
        spoken["count"] += 1
        name = system.split(",")[0].removeprefix("You are ")
        if name == "Priya" and spoken["count"] > done_after:
            return "<TASK_DONE>"
        return f"{name} adds point {spoken['count']} to the plan."

    return FunctionModel(reply)


def speakers(society: Society) -> list[str]:
    return [message.speaker for message in society.messages]


def test_round_robin_goes_around_and_the_lead_ends_it() -> None:
    society = Society("Ship a word counter", TEAM, model=team_model())
    transcript = society.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert speakers(society) == ["Priya", "Sam", "Rae"] * 2 + ["Priya"]
    assert [agent.kind for agent in transcript.agents] == ["member"] * 3
    assert transcript.messages[-1].content == "<TASK_DONE>"


def test_each_member_sees_the_others_by_name() -> None:
    model = team_model()
    Society("Ship a word counter", TEAM, model=model).run()
    sams_last_view = [call for call in model.calls if call[0]["content"].startswith("You are Sam")][-1]
    assert sams_last_view[-1]["role"] == "user"
    assert any(m["role"] == "user" and "\n\nPriya: Priya adds" in m["content"] for m in sams_last_view)
    assert any(m["role"] == "assistant" and m["content"].startswith("Sam adds") for m in sams_last_view)


def test_graph_policy_follows_the_transitions() -> None:
    turns = TurnSettings(policy="graph", transitions={"Priya": ["Sam"], "Sam": ["Rae"], "Rae": ["Sam", "Priya"]})
    society = Society("Ship a word counter", TEAM, model=team_model(done_after=5), turns=turns)
    transcript = society.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert speakers(society) == ["Priya", "Sam", "Rae", "Sam", "Rae", "Priya"]


def test_moderator_names_the_next_speaker_and_is_metered() -> None:
    society = Society("Ship", TEAM, model=team_model("I would let Rae speak."), turns=TurnSettings(policy="moderator"))
    transcript = society.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    choices = [e.model_extra for e in transcript.events if e.kind == "turn_policy"]
    assert choices[0] == {"policy": "moderator", "answer": "I would let Rae speak.", "chosen": "Rae", "fallback": False}
    assert speakers(society)[:2] == ["Priya", "Rae"]
    assert "moderator" in [agent.kind for agent in transcript.agents]
    spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
    assert spent > sum(m.usage.prompt_tokens + m.usage.completion_tokens for m in transcript.messages)


def test_a_moderator_naming_nobody_falls_back_deterministically() -> None:
    society = Society("Ship", TEAM, model=team_model("Gandalf, obviously."), turns=TurnSettings(policy="moderator"))
    transcript = society.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    choices = [e.model_extra or {} for e in transcript.events if e.kind == "turn_policy"]
    assert choices and all(choice["fallback"] for choice in choices)
    assert speakers(society)[:3] == ["Priya", "Sam", "Rae"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("Sam", "Sam"), (" rae. ", "Rae"), ("Next: the Engineer", "Sam"), ("Samm", "Sam"), ("nobody", None)],
)
def test_forgiving_name_match(answer: str, expected: str | None) -> None:
    assert match_name(answer, ["Sam", "Rae"], aliases={"Engineer": "Sam", "Reviewer": "Rae"}) == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Society("t", TEAM[:1]), "at least two"),
        (lambda: Society("t", [TEAM[0], TEAM[0]]), "unique"),
        (lambda: Society("t", TEAM, lead="Zed"), "lead: 'Zed'"),
        (lambda: Society("t", TEAM, turns=TurnSettings(policy="graph")), "needs transitions"),
        (lambda: Society("t", TEAM, turns=TurnSettings(policy="graph", transitions={"Priya": ["Zed"]})), "'Zed'"),
    ],
)
def test_bad_societies_are_refused(build: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize("example", ["three_agents.yaml", "debate.yaml"])
def test_society_examples_run_from_the_cli(example: str, tmp_path: Path) -> None:
    def responder(request: dict[str, object]) -> str:
        messages = request["messages"]
        assert isinstance(messages, list)
        system = str(messages[0]["content"])
        if system.startswith("You chair"):
            return "the Judge, please" if "from Ben" in str(messages[-1]["content"]) else "Ada"
        turns = len(messages)
        if "You lead the team" in system and any(m["role"] == "assistant" for m in messages):
            return "<TASK_DONE>"
        name = system.split(",", maxsplit=1)[0].removeprefix("You are ")
        return f"{name}: " + " ".join(WORDS[(turns * 7 + i * 3) % len(WORDS)] for i in range(8))

    out = tmp_path / "team.jsonl"
    with FakeOpenAIServer(responder) as server:
        assert main(["run", str(EXAMPLES / example), "--base-url", server.base_url, "--out", str(out), "--quiet"]) == 0
    [transcript] = read(out)
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert len({m.speaker for m in transcript.messages}) == 3


def test_a_society_stopped_by_its_turn_limit_resumes_from_the_cli(tmp_path: Path) -> None:
    def responder(request: dict[str, object]) -> str:
        messages = request["messages"]
        assert isinstance(messages, list)
        system = str(messages[0]["content"])
        if "You lead the team" in system and sum(m["role"] == "assistant" for m in messages) >= 2:
            return "<TASK_DONE>"
        name = system.split(",", maxsplit=1)[0].removeprefix("You are ")
        return f"{name}: " + " ".join(WORDS[(len(messages) * 7 + i * 3) % len(WORDS)] for i in range(8))

    out = tmp_path / "team.jsonl"
    with FakeOpenAIServer(responder) as server:
        run = ["run", str(EXAMPLES / "three_agents.yaml"), "--base-url", server.base_url, "--out", str(out)]
        assert main([*run, "--max-turns", "4", "--quiet"]) == 0
        [stopped] = read(out)
        assert stopped.termination is not None and stopped.termination.reason == "max_turns"
        resume = ["resume", str(out), "--base-url", server.base_url, "--max-turns", "10", "--quiet"]
        assert main(resume) == 0
    stopped, resumed = read(out)
    assert resumed.parent_id == stopped.id and resumed.termination is not None
    assert resumed.termination.reason == "task_done"
    assert [m.content for m in resumed.messages[:4]] == [m.content for m in stopped.messages]
    # the transitions go on where they stopped: Rae handed over to Sam before, so now to Priya
    assert [m.speaker for m in stopped.messages] == ["Priya", "Sam", "Rae", "Sam"]
    assert [m.speaker for m in resumed.messages[4:6]] == ["Rae", "Priya"]
