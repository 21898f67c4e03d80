"""The agent contract, each hook subclassed the way the README shows and the way one gets it wrong.

The traps found in review, each now either working or refused with a message saying what to do:
a ``build_system_prompt`` override reading the subclass's own attributes; a ``respond``
override that drops the turn's parameters; a subclass that does not accept the keyword
arguments a role-play passes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import rolecall
from rolecall import (
    ChatMessage,
    Completion,
    Executor,
    GenerationParams,
    Instructor,
    Role,
    RolePlay,
    Said,
    SpecError,
    Usage,
)
from rolecall.testing import ScriptedModel

INSTRUCTION = "Instruction: total the flour orders\nInput: 12 and 30"
DONE = "<TASK_DONE>"


def test_a_respond_override_as_the_readme_shows_receives_the_turns_parameters() -> None:
    seen: list[GenerationParams] = []

    class Bookkeeper(Executor):
        async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
            seen.append(params)
            if "total" in messages[-1]["content"]:
                return Completion(text="Solution: the total is 42.", model="rules")
            return await super().respond(messages, params)

    transcript = RolePlay(
        "Total the orders", assistant_role="Bookkeeper", user_role="Baker", executor_cls=Bookkeeper, seed=3,
        assist={"json_turns": True}, user_model=ScriptedModel(['{"instruction": "total the flour orders", '
        '"input": "12 and 30", "task_done": false}', '{"instruction": "", "input": "", "task_done": true}']),
    ).run()  # fmt: skip
    assert transcript.messages[1].content == "Solution: the total is 42."
    [params] = seen
    assert params.json_schema is not None and "solution" in params.json_schema["properties"]  # the turn's schema
    assert params.seed == 3


def test_a_respond_override_that_cannot_take_the_parameters_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"respond must accept \(self, messages, params\)"):

        class Forgetful(Executor):
            async def respond(self, messages: list[ChatMessage]) -> Completion:  # type: ignore[override]
                return Completion(text="Solution: ok.")


def test_build_system_prompt_is_lazy_so_it_sees_the_subclasss_own_attributes() -> None:
    class Specialist(Executor):
        def __init__(self, *args: Any, speciality: str = "sourdough", **options: Any) -> None:
            super().__init__(*args, **options)
            self.speciality = speciality  # set after super().__init__, as one naturally writes it

        def build_system_prompt(self) -> str:
            return f"{super().build_system_prompt()}\nYou specialise in {self.speciality}."

    transcript = RolePlay(
        "Bake bread", assistant_role="Baker", user_role="Owner", executor_cls=Specialist,
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=ScriptedModel(["Solution: 42.\nNext request."]),
    ).run()  # fmt: skip
    assert transcript.agents[1].system_prompt.endswith("You specialise in sourdough.")


def test_a_subclass_that_does_not_accept_the_role_plays_keywords_is_a_clear_spec_error() -> None:
    class Narrow(Instructor):
        def __init__(self, role: str | Role) -> None:
            super().__init__(role, assistant_role="Baker", task="Bake")

    with pytest.raises(SpecError, match=r"instructor_cls Narrow cannot be created .* accept \*\*options"):
        RolePlay("Bake", assistant_role="Baker", user_role="Owner", instructor_cls=Narrow)


def test_the_constructor_contract_keyword_arguments_pass_through() -> None:
    class Tagged(Instructor):
        def __init__(self, *args: Any, tag: str = "A", **options: Any) -> None:
            self.tag = tag
            super().__init__(*args, **options)

        def build_system_prompt(self) -> str:
            return f"[{self.tag}] {super().build_system_prompt()}"

    transcript = RolePlay(
        "Bake", assistant_role="Baker", user_role="Owner", instructor_cls=Tagged,
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=ScriptedModel(["Solution: 42.\nNext request."]),
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert transcript.agents[0].system_prompt.startswith("[A] You are Owner.")


def test_a_bare_agent_without_a_model_says_what_to_do() -> None:
    with pytest.raises(SpecError, match=r"has no model: pass model=\.\.\. or override respond"):
        asyncio.run(rolecall.Agent("Baker").step([Said("Owner", "hello")]))


def test_everything_a_respond_override_needs_is_exported() -> None:
    for name in ("Agent", "ChatMessage", "ChatModel", "Completion", "GenerationParams", "Usage", "Said", "Role"):
        assert name in rolecall.__all__
    assert Completion(text="x", usage=Usage(prompt_tokens=1)).usage.total_tokens == 1
