"""One dialogue loop for every conversation: societies resume, and a turn policy is one registered class."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from rolecall.agents.members import Member
from rolecall.dialogue import POLICIES, RolePlay, Society, SocietyPolicy, register_policy, resume
from rolecall.errors import SpecError
from rolecall.models.base import ChatMessage
from rolecall.settings import Settings, Spent, limit
from rolecall.testing import FunctionModel, ScriptedModel
from rolecall.transcripts.record import Message
from rolecall.turns import TurnSettings

TEAM = [
    Member(name="Priya", role="Product Manager"),
    Member(name="Sam", role="Engineer"),
    Member(name="Rae", role="QA"),
]


@pytest.fixture(autouse=True)
def _policies_restored() -> Iterator[None]:
    """Policies registered by a test leave with it."""
    with POLICIES.scoped():
        yield


def team(moderator: str = "Rae", done_after: int = 5) -> FunctionModel:
    """Each member adds a numbered point; the lead (Priya) says done once ``done_after`` points are in."""
    spoken = {"count": 0}

    def reply(messages: Sequence[ChatMessage]) -> str:
        system = messages[0]["content"]
        if system.startswith("You chair"):
            return moderator
        name = system.split(",")[0].removeprefix("You are ")
        if name == "Priya" and spoken["count"] >= done_after:
            return "<TASK_DONE>"
        spoken["count"] += 1
        return f"{name} adds point {spoken['count']}."

    return FunctionModel(reply)


def test_a_society_resumes_where_it_stopped_and_keeps_its_order() -> None:
    stopped = Society("Ship a word counter", TEAM, model=team(), max_turns=4, seed=3).run()
    assert stopped.termination is not None and stopped.termination.reason == "max_turns"
    assert [m.speaker for m in stopped.messages] == ["Priya", "Sam", "Rae", "Priya"]

    again = resume(stopped, model=team(done_after=1), max_turns=6)
    assert isinstance(again, Society)
    transcript = again.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert transcript.parent_id == stopped.id and transcript.id == f"{stopped.id}-r1"
    # the saved four are carried over unchanged, and round robin goes on after Priya
    assert [m.content for m in transcript.messages[:4]] == [m.content for m in stopped.messages]
    assert [m.speaker for m in transcript.messages[4:]] == ["Sam", "Rae", "Priya"]
    assert transcript.messages[-1].content == "<TASK_DONE>" and transcript.messages[-1].turn == 7
    assert [event.kind for event in transcript.events].count("resumed") == 1
    assert [agent.name for agent in transcript.agents] == ["Priya", "Sam", "Rae"]  # not cast twice in the record
    assert transcript.task_graph is not None
    assert [node["status"] for node in transcript.task_graph["nodes"]] == ["done"]


def test_a_moderated_society_resumes_with_its_moderator_and_policy() -> None:
    turns = TurnSettings(policy="moderator")
    stopped = Society("Plan a release", TEAM, model=team("Rae"), turns=turns, max_turns=2).run()
    assert [m.speaker for m in stopped.messages] == ["Priya", "Rae"]
    transcript = resume(stopped, model=team("Priya", done_after=0), max_turns=3).run()
    assert [m.speaker for m in transcript.messages[2:]] == ["Priya"]
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert [agent.kind for agent in transcript.agents].count("moderator") == 1
    chosen = [(e.model_extra or {})["chosen"] for e in transcript.events if e.kind == "turn_policy"]
    # the saved choices (the second made before the limit stopped it), then the resumed moderator's own
    assert chosen == ["Rae", "Priya", "Priya"]


def test_a_finished_society_is_not_resumed() -> None:
    done = Society("Ship", TEAM, model=team(done_after=3)).run()
    assert done.termination is not None and done.termination.reason == "task_done"
    with pytest.raises(SpecError, match="already ended with task_done; nothing to resume"):
        resume(done, model=team())


def test_resume_tells_a_role_play_from_a_society() -> None:
    script = ["Instruction: name a bread\nInput: None", "Solution: rye.\nNext request.", "<TASK_DONE>"]
    stopped = RolePlay(
        "Bake", assistant_role="Baker", user_role="Owner", model=ScriptedModel(script), max_turns=1
    ).run()
    assert stopped.termination is not None and stopped.termination.reason == "max_turns"
    again = resume(stopped, model=ScriptedModel(["<TASK_DONE>"]))
    assert isinstance(again, RolePlay)
    transcript = again.run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert [m.content for m in transcript.messages] == [*script[:2], "<TASK_DONE>"]


class Backwards(SocietyPolicy):
    """Goes around the roster backwards."""

    name = "backwards"

    async def choose(self, last: Message) -> str:
        return self.roster[self.roster.index(last.speaker) - 1]


def test_a_turn_policy_is_one_registered_class() -> None:
    register_policy(Backwards)
    assert "backwards" in POLICIES
    society = Society("Ship", TEAM, model=team(done_after=4), turns=TurnSettings(policy="backwards"))
    transcript = society.run()
    assert [m.speaker for m in transcript.messages] == ["Priya", "Rae", "Sam"] * 2 + ["Priya"]
    assert transcript.messages[-1].content == "<TASK_DONE>"
    assert transcript.termination is not None and transcript.termination.reason == "task_done"


def test_an_unknown_turn_policy_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(SpecError) as caught:
        Society("Ship", TEAM, model=team(), turns=TurnSettings(policy="random"))
    message = str(caught.value)
    assert message.startswith("no such turn policy 'random'; known: ")
    assert {"round_robin", "graph", "moderator"} <= set(message.split("known: ")[1].split(", "))
    assert "\n" not in message


class Brief(Settings):
    """Settings with one more limit, as a new limit is added: a field and its check."""

    max_messages: int | None = None

    @limit("max_messages")
    def limit_messages(self, spent: Spent, new_turn: bool) -> bool:
        return self.max_messages is not None and spent.messages >= self.max_messages


def test_a_new_limit_is_a_field_and_its_check_and_its_name_ends_the_conversation() -> None:
    assert list(Brief.limits())[-1] == "max_messages" and "max_messages" not in Settings.limits()
    society = Society("Ship", TEAM, model=team(done_after=9), settings=Brief(max_messages=5))
    transcript = society.run()
    assert transcript.termination is not None and transcript.termination.reason == "max_messages"
    assert len(transcript.messages) == 5
    assert transcript.settings["max_messages"] == 5
