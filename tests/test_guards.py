"""Guards: each failure mode is caught, re-asked, recovered or stopped with its reason."""

from __future__ import annotations

import pytest

from rolecall import GuardSettings, RolePlay, Transcript
from rolecall._text import is_pleasantry, similarity
from rolecall.guards import Turn, build, first_verdict
from rolecall.testing import ScriptedModel

GOOD_INSTRUCTION = "Instruction: list three data sources for prices\nInput: None"
GOOD_SOLUTION = "Solution: Yahoo Finance, Alpha Vantage and Polygon.\nNext request."
DONE = "<TASK_DONE>"

# (guard, side, bad reply). The instructor's bad replies come first in its script, the
# executor's in its script; the other side behaves.
FAILURES = [
    ("role_flip", "user", "Solution: I already wrote the bot for you."),
    ("role_flip", "assistant", "Instruction: now you fetch the data yourself."),
    ("off_format", "user", "Let us build a trading bot together!"),
    ("off_format", "assistant", "Yahoo Finance is a good source."),
    ("off_format", "user", "Instruction: \nInput: the plan"),
    ("empty", "assistant", "   "),
    ("echo", "assistant", "Solution: list three data sources for prices\nNext request."),
    ("flake", "assistant", "Solution: Sure, I will list the data sources for you.\nNext request."),
    ("premature_done", "user", DONE),
]


def play(user: list[str], assistant: list[str], **options: object) -> tuple[Transcript, ScriptedModel, ScriptedModel]:
    user_model, assistant_model = ScriptedModel(user), ScriptedModel(assistant)
    transcript = RolePlay(
        "Develop a trading bot", assistant_role="Python Programmer", user_role="Stock Trader",
        user_model=user_model, assistant_model=assistant_model, **options,  # type: ignore[arg-type]
    ).run()  # fmt: skip
    return transcript, user_model, assistant_model


def guard_events(transcript: Transcript) -> list[dict[str, object]]:
    return [dict(event.model_extra or {}) for event in transcript.events if event.kind == "guard"]


@pytest.mark.parametrize(("guard", "side", "bad"), FAILURES, ids=[f"{g}-{s}" for g, s, _ in FAILURES])
def test_a_violation_is_reasked_and_the_recovered_reply_kept(guard: str, side: str, bad: str) -> None:
    user = [bad, GOOD_INSTRUCTION, DONE] if side == "user" else [GOOD_INSTRUCTION, DONE]
    assistant = [bad, GOOD_SOLUTION] if side == "assistant" else [GOOD_SOLUTION]
    transcript, user_model, assistant_model = play(user, assistant)
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert [m.content for m in transcript.messages] == [GOOD_INSTRUCTION, GOOD_SOLUTION, DONE]
    reasked = transcript.messages[0 if side == "user" else 1]
    assert reasked.reasks == 1
    [event] = guard_events(transcript)
    assert event["guard"] == guard and event["action"] == "reask" and event["rejected"] == bad.strip()
    # The re-ask carried a reminder of the role and format.
    model = user_model if side == "user" else assistant_model
    assert model.calls[1][-1]["content"] != model.calls[0][-1]["content"]
    # Rejected attempts cost tokens too.
    spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
    assert spent > sum(m.usage.prompt_tokens + m.usage.completion_tokens for m in transcript.messages)


@pytest.mark.parametrize(("guard", "side", "bad"), FAILURES, ids=[f"{g}-{s}" for g, s, _ in FAILURES])
def test_a_model_that_never_recovers_stops_with_the_guards_reason(guard: str, side: str, bad: str) -> None:
    user = [bad] * 3 if side == "user" else [GOOD_INSTRUCTION]
    assistant = [bad] * 3 if side == "assistant" else []
    transcript, _, _ = play(user, assistant)
    assert transcript.termination is not None and transcript.termination.reason == guard
    assert transcript.status == "ok"
    events = guard_events(transcript)
    assert [e["action"] for e in events] == ["reask", "reask", "reask", "stop"]
    assert len(transcript.messages) == (0 if side == "user" else 1)


def test_thank_you_loop_is_caught() -> None:
    user = [GOOD_INSTRUCTION, "Instruction: Thank you so much!\nInput: None", DONE]
    thanks = "Solution: Thank you! It was a pleasure working with you.\nNext request."
    final = "Solution: Here is the last piece: print('buy low, sell high')\nNext request."
    transcript, _, _ = play(user, [GOOD_SOLUTION, thanks, final], guards=GuardSettings(off_format="off"))
    events = guard_events(transcript)
    assert (events[0]["guard"], events[0]["action"], events[0]["speaker"]) == ("loop", "reask", "Python Programmer")
    assert transcript.messages[3].content == final
    assert transcript.termination is not None and transcript.termination.reason == "task_done"


def test_repeating_oneself_is_a_loop() -> None:
    user = [GOOD_INSTRUCTION, GOOD_INSTRUCTION, GOOD_INSTRUCTION, GOOD_INSTRUCTION]
    transcript, _, _ = play(user, [GOOD_SOLUTION], guards=GuardSettings(echo="off"))
    assert transcript.termination is not None and transcript.termination.reason == "loop"


def test_refusal_is_flagged_not_reasked_by_default() -> None:
    refusal = "Solution: As an AI language model, I cannot trade stocks.\nNext request."
    transcript, _, _ = play([GOOD_INSTRUCTION, DONE], [refusal])
    assert transcript.messages[1].content == refusal
    [event] = guard_events(transcript)
    assert (event["guard"], event["action"]) == ("refusal", "flag")


def test_stop_action_ends_at_once_and_off_disables() -> None:
    flip = "Solution: done already."
    transcript, _, _ = play([flip], [], guards=GuardSettings(role_flip="stop"))
    assert transcript.termination is not None and transcript.termination.reason == "role_flip"
    assert [e["action"] for e in guard_events(transcript)] == ["stop"]
    transcript, _, _ = play([flip, DONE], [GOOD_SOLUTION], guards=GuardSettings(role_flip="off", off_format="off"))
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert guard_events(transcript) == []


def test_max_reasks_bounds_the_attempts() -> None:
    transcript, user_model, _ = play(["hello"] * 6, [], guards=GuardSettings(max_reasks=4))
    assert len(user_model.calls) == 5
    assert transcript.termination is not None and transcript.termination.reason == "off_format"


def test_similarity_and_pleasantries() -> None:
    assert similarity("Write the code, please!", "write the code please") == 1.0
    assert similarity("Write the code", "Plan a wedding in Rome") == 0.0
    assert is_pleasantry("Thank you so much! Goodbye.")
    assert not is_pleasantry("Thank you. Here is the plan: buy low, sell high.")


def test_member_impersonation_is_a_role_flip() -> None:
    turn = Turn("I agree.\nSam: and I will code it.", "Priya", "member", DONE, (), ("Sam", "Rae"))
    verdict = first_verdict(build(GuardSettings()), turn)
    assert verdict is not None and verdict.guard == "role_flip"


def test_built_in_guards_run_in_one_defined_order_and_say_what_they_catch() -> None:
    from rolecall.guards import registered_guards

    names = list(registered_guards())
    assert names[:8] == ["empty", "role_flip", "off_format", "echo", "flake", "premature_done", "loop", "refusal"]
    assert [type(guard).name for guard in build(GuardSettings())] == names
    assert all(guard.__doc__ and "Catches" in guard.__doc__ for guard in registered_guards().values())


def test_legacy_guard_options_and_mappings_set_the_same_options() -> None:
    legacy = GuardSettings.model_validate({"echo_threshold": 0.5, "loop_window": 2, "refusal": "stop"})
    mapped = GuardSettings.model_validate({"echo": {"threshold": 0.5}, "loop": {"window": 2}, "refusal": "stop"})
    assert legacy == mapped
    assert legacy.actions == {"refusal": "stop"}
    assert legacy.options == {"echo": {"threshold": 0.5}, "loop": {"window": 2}}
    assert GuardSettings.model_validate(legacy.model_dump()) == legacy  # what a transcript saves reads back


def test_each_reask_draws_anew_and_a_premature_done_cannot_be_repeated_in_json() -> None:
    from rolecall import Assist

    done = '{"instruction": "", "input": "", "task_done": true}'
    step = '{"instruction": "list three data sources for prices", "input": "None", "task_done": false}'
    transcript, user_model, _ = play([done, step, done], [GOOD_SOLUTION], seed=9, assist=Assist(json_turns=True))
    assert transcript.messages[0].content == GOOD_INSTRUCTION and transcript.messages[0].reasks == 1
    first, second = user_model.call_params[0], user_model.call_params[1]
    assert first is not None and second is not None
    assert first.seed == 9 and second.seed != 9 and (second.temperature or 0) > (first.temperature or 0.7) - 1e-9
    assert first.json_schema is not None and first.json_schema["properties"]["task_done"] == {"type": "boolean"}
    assert second.json_schema is not None and second.json_schema["properties"]["task_done"]["enum"] == [False]
    assert user_model.call_params[2] is not None and user_model.call_params[2].json_schema == first.json_schema


def test_a_premature_done_stays_barred_through_the_other_reasks_of_its_turn() -> None:
    from rolecall import Assist

    done = '{"instruction": "", "input": "", "task_done": true}'
    blank = '{"instruction": " ", "input": "the breads", "task_done": false}'
    step = '{"instruction": "list three data sources for prices", "input": "None", "task_done": false}'
    transcript, user_model, _ = play([done, blank, step, done], [GOOD_SOLUTION], assist=Assist(json_turns=True))
    assert [event["guard"] for event in guard_events(transcript)] == ["premature_done", "off_format"]
    assert transcript.messages[0].content == GOOD_INSTRUCTION and transcript.messages[0].reasks == 2
    barred = [params.json_schema["properties"]["task_done"].get("enum") for params in user_model.call_params[:3]]
    assert barred == [None, [False], [False]]  # the off_format re-ask kept the bar; the next turn may end the task
    assert user_model.call_params[3] is not None and user_model.call_params[3].json_schema is not None
    assert user_model.call_params[3].json_schema["properties"]["task_done"] == {"type": "boolean"}
