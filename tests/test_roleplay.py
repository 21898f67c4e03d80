"""The role-play loop with scripted models: endings, budgets, failures, views, custom agents."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from rolecall import (
    Completion,
    Executor,
    GenerationParams,
    GuardSettings,
    ModelUnavailableError,
    RolePlay,
    SpecError,
    Usage,
)
from rolecall.models.base import ChatMessage
from rolecall.testing import FunctionModel, ScriptedModel

INSTRUCTIONS = ["Instruction: write a plan\nInput: None", "Instruction: write code\nInput: the plan"]
SOLUTIONS = ["Solution: here is the plan.\nNext request.", "Solution: here is the code.\nNext request."]


def roleplay(user: Sequence[object], assistant: Sequence[object], **options: object) -> RolePlay:
    return RolePlay(
        "Develop a trading bot",
        assistant_role="Python Programmer",
        user_role="Stock Trader",
        user_model=ScriptedModel(user),  # type: ignore[arg-type]
        assistant_model=ScriptedModel(assistant),  # type: ignore[arg-type]
        **({"guards": GuardSettings.off()} | options),  # type: ignore[arg-type]
    )


def test_done_token_ends_with_task_done() -> None:
    transcript = roleplay([*INSTRUCTIONS, "<TASK_DONE>"], SOLUTIONS, seed=1).run()
    assert transcript.status == "ok"
    assert transcript.termination is not None
    assert (transcript.termination.reason, transcript.termination.turn) == ("task_done", 3)
    assert [m.speaker for m in transcript.messages] == ["Stock Trader", "Python Programmer"] * 2 + ["Stock Trader"]
    assert [m.role for m in transcript.messages][:2] == ["user", "assistant"]
    assert [m.index for m in transcript.messages] == list(range(5))
    assert [m.turn for m in transcript.messages] == [1, 1, 2, 2, 3]
    assert [a.kind for a in transcript.agents] == ["user", "assistant"]
    assert "<TASK_DONE>" in transcript.agents[0].system_prompt
    assert transcript.kickoff and "Instruction:" in transcript.kickoff
    total = sum(m.usage.prompt_tokens + m.usage.completion_tokens for m in transcript.messages)
    assert transcript.usage.prompt_tokens + transcript.usage.completion_tokens == total


def test_seed_makes_the_id_deterministic() -> None:
    first = roleplay([*INSTRUCTIONS, "<TASK_DONE>"], SOLUTIONS, seed=5).run()
    second = roleplay([*INSTRUCTIONS, "<TASK_DONE>"], SOLUTIONS, seed=5).run()
    third = roleplay([*INSTRUCTIONS, "<TASK_DONE>"], SOLUTIONS, seed=6).run()
    assert first.id == second.id != third.id


def test_max_turns_stops_after_the_last_answer() -> None:
    transcript = roleplay(INSTRUCTIONS * 5, SOLUTIONS * 5, max_turns=3).run()
    assert transcript.termination is not None
    assert transcript.termination.reason == "max_turns"
    assert len(transcript.messages) == 6
    assert transcript.messages[-1].role == "assistant"


def test_token_budget_stops_and_saves() -> None:
    costly = Completion(text="Solution: long.\nNext request.", usage=Usage(prompt_tokens=400, completion_tokens=200))
    transcript = roleplay(INSTRUCTIONS * 5, [costly] * 5, token_budget=1000).run()
    assert transcript.termination is not None
    assert transcript.termination.reason == "token_budget"
    assert transcript.status == "ok"
    assert transcript.usage.prompt_tokens + transcript.usage.completion_tokens >= 1000
    assert len(transcript.messages) < 10


def test_model_failure_keeps_every_message_and_records_the_error() -> None:
    down = ModelUnavailableError("http://127.0.0.1:9/v1 did not answer after 5 attempt(s)")
    rp = roleplay(INSTRUCTIONS, [SOLUTIONS[0], down])
    transcript = rp.run()
    assert transcript.status == "failed"
    assert transcript.termination is not None and transcript.termination.reason == "error"
    assert transcript.error is not None and "127.0.0.1:9" in transcript.error.message
    assert [m.content for m in transcript.messages] == [INSTRUCTIONS[0], SOLUTIONS[0], INSTRUCTIONS[1]]


def test_cancellation_is_recorded_as_interrupted() -> None:
    class Slow(ScriptedModel):
        async def complete(self, messages, *, params=None):  # type: ignore[no-untyped-def]
            if len(self.calls) >= 1:
                await asyncio.sleep(30)
            return await super().complete(messages, params=params)

    rp = RolePlay(
        "t", assistant_role="A", user_role="U", user_model=Slow(INSTRUCTIONS), assistant_model=ScriptedModel(SOLUTIONS)
    )

    async def run_then_cancel() -> None:
        task = asyncio.create_task(rp.arun())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_then_cancel())
    transcript = rp.transcript
    assert transcript.status == "failed"
    assert transcript.termination is not None and transcript.termination.reason == "interrupted"
    assert [m.content for m in transcript.messages] == [INSTRUCTIONS[0], SOLUTIONS[0]]


def test_empty_and_cut_replies_are_recorded_not_dropped() -> None:
    cut = Completion(text="Solution: the first half of", finish_reason="length")
    transcript = roleplay([INSTRUCTIONS[0], "", "<TASK_DONE>"], [cut, SOLUTIONS[1]]).run()
    assert transcript.messages[1].finish_reason == "length"
    assert transcript.messages[2].content == ""
    assert len(transcript.messages) == 5


def test_views_alternate_and_hide_the_done_token_from_the_executor() -> None:
    user = ScriptedModel([*INSTRUCTIONS, "<TASK_DONE>"])
    assistant = ScriptedModel(SOLUTIONS)
    RolePlay("t", assistant_role="A", user_role="U", user_model=user, assistant_model=assistant).run()
    last_instructor_view = user.calls[-1]
    assert [m["role"] for m in last_instructor_view] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert last_instructor_view[1]["content"].startswith("Now give me the first instruction")
    executor_view = assistant.calls[-1]
    assert [m["role"] for m in executor_view] == ["system", "user", "assistant", "user"]
    assert all("<TASK_DONE>" not in m["content"] for m in executor_view[1:])


def test_context_window_keeps_system_prompt_and_recent_messages() -> None:
    long_solution = "Solution: " + "word " * 400 + "\nNext request."
    user = ScriptedModel(INSTRUCTIONS * 4)
    assistant = ScriptedModel([long_solution] * 8)
    RolePlay(
        "t", assistant_role="A", user_role="U", user_model=user, assistant_model=assistant,
        max_turns=8, context_tokens=1200, guards=GuardSettings.off(),
    ).run()  # fmt: skip
    view = assistant.calls[-1]
    assert view[0]["role"] == "system"
    assert view[1]["role"] == "user"
    assert view[-1]["content"] == INSTRUCTIONS[1]
    assert len(view) < 16
    assert sum(len(m["content"]) for m in view) / 3.6 < 1200


def test_a_reply_longer_than_the_whole_window_is_cut_to_fit_in_the_next_view() -> None:
    runaway = "Solution: " + "word " * 3000  # a small model that never stopped writing
    user = ScriptedModel(INSTRUCTIONS * 4)
    assistant = ScriptedModel([runaway] * 4)
    RolePlay(
        "t", assistant_role="A", user_role="U", user_model=user, assistant_model=assistant,
        max_turns=2, context_tokens=1200, guards=GuardSettings.off(),
    ).run()  # fmt: skip
    view = user.calls[-1]
    assert view[0]["role"] == "system" and view[-1]["content"].startswith("Solution: word word")
    assert len(view[-1]["content"]) < len(runaway)
    assert sum(len(m["content"]) for m in view) / 3.6 < 1200


def test_task_specifier_makes_the_task_specific() -> None:
    specified = "Build a Python bot that trades AAPL on 5-minute moving-average crossovers."
    user = ScriptedModel([specified, INSTRUCTIONS[0], "<TASK_DONE>"])
    assistant = ScriptedModel(SOLUTIONS)
    transcript = RolePlay(
        "Develop a trading bot", assistant_role="Python Programmer", user_role="Stock Trader",
        user_model=user, assistant_model=assistant, specify_task=True, word_limit=30,
    ).run()  # fmt: skip
    assert transcript.task.original == "Develop a trading bot"
    assert transcript.task.specified == specified
    assert "30 words" in user.calls[0][-1]["content"]
    assert specified in transcript.agents[1].system_prompt
    assert [a.kind for a in transcript.agents] == ["task_specifier", "user", "assistant"]
    assert any(event.kind == "task_specified" for event in transcript.events)


def test_custom_executor_overrides_respond_and_postprocess() -> None:
    class Shouting(Executor):
        async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
            instruction = messages[-1]["content"]
            return Completion(text=f"  solution: {instruction.splitlines()[0]}  ", model="rules")

        def postprocess(self, text: str) -> str:
            return super().postprocess(text).upper()

    transcript = RolePlay(
        "t", assistant_role="A", user_role="U", user_model=ScriptedModel([INSTRUCTIONS[0], "<TASK_DONE>"]),
        executor_cls=Shouting,
    ).run()  # fmt: skip
    assert transcript.messages[1].content == "SOLUTION: INSTRUCTION: WRITE A PLAN"
    assert transcript.messages[1].model == "rules"


def test_stream_yields_each_message_as_it_arrives() -> None:
    rp = roleplay([*INSTRUCTIONS, "<TASK_DONE>"], SOLUTIONS)
    seen: list[str] = []

    async def consume() -> None:
        async for message in rp.stream():
            seen.append(message.content)
            assert rp.transcript.messages[-1].content == message.content

    asyncio.run(consume())
    assert seen == [m.content for m in rp.transcript.messages]


def test_function_model_sees_the_roles() -> None:
    def reply(messages: Sequence[ChatMessage]) -> str:
        system = messages[0]["content"]
        if "carries out your instructions" in system:
            return "<TASK_DONE>" if len(messages) > 3 else "Instruction: go\nInput: None"
        return "Solution: went.\nNext request."

    model = FunctionModel(reply)
    transcript = RolePlay("t", assistant_role="A", user_role="U", model=model).run()
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert len(model.calls) == 3


def test_bad_arguments_are_rejected_with_rolecalls_own_errors() -> None:
    with pytest.raises(SpecError, match="task: must not be blank"):
        RolePlay("  ", assistant_role="A", user_role="U")
    with pytest.raises(SpecError, match="max_turns: Input should be greater than 0"):
        RolePlay("t", assistant_role="A", user_role="U", max_turns=0)
    with pytest.raises(SpecError, match="unknown setting 'max_turn'"):
        RolePlay("t", assistant_role="A", user_role="U", max_turn=3)
    with pytest.raises(SpecError, match="role: give a non-blank name"):
        RolePlay("t", assistant_role=" ", user_role="U")
    with pytest.raises(SpecError, match=r"guards\.no_such: no such guard; known guards: empty, role_flip"):
        RolePlay("t", assistant_role="A", user_role="U", guards={"no_such": "stop"})


def test_json_turns_are_requested_under_a_schema_and_rendered_as_plain_text() -> None:
    from rolecall import Assist

    user = ScriptedModel(['{"instruction": "Write a plan", "input": "None", "task_done": false}',
                          '{"instruction": "", "input": "", "task_done": true}'])  # fmt: skip
    assistant = ScriptedModel(['{"solution": "Step one: buy low. Step two: sell hi'])  # cut off by the length limit
    transcript = RolePlay(
        "Develop a trading bot", assistant_role="Programmer", user_role="Trader", assist=Assist(json_turns=True),
        user_model=user, assistant_model=assistant,
    ).run()  # fmt: skip
    assert [m.content for m in transcript.messages] == [
        "Instruction: Write a plan\nInput: None",
        "Solution: Step one: buy low. Step two: sell hi\nNext request.",
        "<TASK_DONE>",
    ]
    assert '"task_done"' in user.calls[0][0]["content"]  # the system prompt asks for JSON


def test_system_prompts_end_with_what_differs_so_a_batch_shares_their_beginning() -> None:
    """The embedded server's prompt cache serves the shared beginning of a role pair's prompts to every task."""
    from rolecall.agents.roleplay_agents import Executor, Instructor
    from rolecall.settings import Assist

    def prompts(task: str, plan: list[str] | None) -> tuple[str, str]:
        assist = Assist(json_turns=True, few_shot=True)
        instructor = Instructor("Shop Owner", assistant_role="Baker", task=task, assist=assist, plan=plan)
        executor = Executor("Baker", user_role="Shop Owner", task=task, assist=assist)
        return instructor.system_prompt, executor.system_prompt

    for first, second in zip(prompts("Bake rye", ["a", "b"]), prompts("Price the menu", ["c", "d"]), strict=True):
        shared = next((n for n, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), len(first))
        assert shared == first.index("The task: ") + len("The task: ")  # everything before the task is shared
        assert "Write each reply as JSON" in first[:shared] and "An example" in first[:shared]
