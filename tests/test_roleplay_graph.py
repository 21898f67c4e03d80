"""The dialogue drives the task graph: chains, failures, events, resume."""

from __future__ import annotations

from rolecall import GuardSettings, RolePlay, Settings, TaskGraph, Transcript
from rolecall.testing import ScriptedModel

DONE = "<TASK_DONE>"
SOLUTION = "Solution: done that.\nNext request."


def album_graph() -> TaskGraph:
    graph = TaskGraph()
    graph.add("design", "Choose a layout and colour scheme")
    graph.add("pages", "Write the home, tour and contact pages", after=["design"])
    graph.add("deploy", "Publish the site", after=["pages"], max_turns=6)
    return graph


def album(user: list[str], assistant: list[str], **options: object) -> RolePlay:
    return RolePlay(
        "Build a website to promote a new album",
        assistant_role="Web Developer",
        user_role="Musician",
        user_model=ScriptedModel(user),
        assistant_model=ScriptedModel(assistant),
        graph=album_graph(),
        **({"guards": GuardSettings.off()} | options),  # type: ignore[arg-type]
    )


def statuses(transcript: Transcript) -> list[tuple[int, str, str]]:
    return [
        (event.turn, str((event.model_extra or {})["task"]), str((event.model_extra or {})["status"]))
        for event in transcript.events
        if event.kind == "task_status"
    ]


def test_three_node_chain_reaches_graph_complete_in_order() -> None:
    user = ["Instruction: pick colours\nInput: None", DONE, "Instruction: write pages\nInput: None", DONE,
            "Instruction: publish\nInput: None", DONE]  # fmt: skip
    rp = album(user, [SOLUTION] * 3)
    transcript = rp.run()
    assert transcript.termination is not None
    assert transcript.termination.reason == "graph_complete"
    assert transcript.status == "ok"
    assert statuses(transcript) == [
        (0, "design", "active"), (2, "design", "done"), (2, "pages", "active"),
        (4, "pages", "done"), (4, "deploy", "active"), (6, "deploy", "done"),
    ]  # fmt: skip
    nodes = {node["id"]: node for node in transcript.task_graph["nodes"]}  # type: ignore[index]
    assert {node["status"] for node in nodes.values()} == {"done"}
    assert nodes["pages"]["title"] == "Write the home, tour and contact pages"
    instructor_view = rp.user_model.calls[-1]  # type: ignore[union-attr]
    notes = [m["content"] for m in instructor_view if m["role"] == "user" and "subtask" in m["content"]]
    assert notes[0].startswith('We begin with the subtask "Choose a layout')
    assert 'Next is the subtask "Publish the site"' in notes[-1]
    assert "1. Choose a layout and colour scheme" in transcript.agents[0].system_prompt


def test_a_subtask_out_of_turns_fails_and_its_dependents_are_skipped() -> None:
    graph = TaskGraph()
    graph.add("research", "Research the market", max_turns=2)
    graph.add("report", "Write the report", after=["research"])
    graph.add("slides", "Make slides")
    user = ["Instruction: look\nInput: None", "Instruction: look more\nInput: None", "Instruction: slides\nInput: None",
            DONE]  # fmt: skip
    transcript = RolePlay(
        "Prepare a pitch", assistant_role="Analyst", user_role="Founder", graph=graph, guards=GuardSettings.off(),
        user_model=ScriptedModel(user), assistant_model=ScriptedModel([SOLUTION] * 3),
    ).run()  # fmt: skip
    assert transcript.termination is not None
    assert transcript.termination.reason == "graph_complete"
    assert "1 failed, 1 skipped" in (transcript.termination.detail or "")
    assert statuses(transcript)[1:4] == [(2, "research", "failed"), (2, "report", "skipped"), (2, "slides", "active")]
    notes = [e for e in transcript.events if e.kind == "instructor_note"]
    assert "out of turns" in str((notes[0].model_extra or {})["text"])


def test_budget_stop_then_resume_completes_without_losing_or_repeating() -> None:
    first_user = ["Instruction: pick colours\nInput: None", DONE, "Instruction: write pages\nInput: None"]
    stopped = album(first_user, [SOLUTION] * 2, max_turns=3).run()
    assert stopped.termination is not None and stopped.termination.reason == "max_turns"
    assert [s for s in statuses(stopped) if s[1] == "pages"] == [(2, "pages", "active")]

    resumed_user = ScriptedModel([DONE, "Instruction: publish\nInput: None", DONE])
    resumed = RolePlay.resume(
        Transcript.from_json(stopped.to_json()),
        user_model=resumed_user,
        assistant_model=ScriptedModel([SOLUTION]),
        guards=GuardSettings.off(),
    ).run()
    assert resumed.termination is not None and resumed.termination.reason == "graph_complete"
    assert resumed.parent_id == stopped.id
    assert resumed.id == f"{stopped.id}-r1"
    assert [m.model_dump() for m in resumed.messages[: len(stopped.messages)]] == [
        m.model_dump() for m in stopped.messages
    ]
    indexes = [m.index for m in resumed.messages]
    assert indexes == list(range(len(resumed.messages)))
    assert [m.turn for m in resumed.messages[len(stopped.messages) :]] == [4, 5, 5, 6]
    assert [s for s in statuses(resumed) if s[2] == "active"] == [(0, "design", "active"), (2, "pages", "active"),
                                                                   (4, "deploy", "active")]  # fmt: skip
    # The resumed instructor sees exactly what it saw before, plus what came after.
    view = resumed_user.calls[0]
    assert view[-1]["content"] == SOLUTION
    assert sum(1 for m in view if m["role"] == "assistant") == 3


def test_resume_after_the_instructor_spoke_lets_the_executor_answer_first() -> None:
    rp = album(["Instruction: pick colours\nInput: None"], [SOLUTION], token_budget=10**9)
    rp.settings = Settings.derive(rp.settings, token_budget=1)  # the first call spends more: the executor never answers
    stopped = rp.run()
    assert stopped.termination is not None and stopped.termination.reason == "token_budget"
    assert [m.role for m in stopped.messages] == ["user"]
    executor = ScriptedModel([SOLUTION])
    resumed = RolePlay.resume(
        stopped,
        user_model=ScriptedModel([DONE, DONE, DONE]),
        assistant_model=executor,
        token_budget=10**6,
        guards=GuardSettings.off(),
    ).run()
    assert [m.role for m in resumed.messages][:2] == ["user", "assistant"]
    assert resumed.termination is not None and resumed.termination.reason == "graph_complete"


def test_without_subtasks_the_task_is_a_one_node_graph() -> None:
    transcript = RolePlay(
        "Write a haiku", assistant_role="Poet", user_role="Editor",
        user_model=ScriptedModel(["Instruction: write\nInput: None", DONE]), assistant_model=ScriptedModel([SOLUTION]),
    ).run()  # fmt: skip
    assert transcript.termination is not None and transcript.termination.reason == "task_done"
    assert transcript.task_graph is not None
    assert [(n["id"], n["title"], n["status"]) for n in transcript.task_graph["nodes"]] == [
        ("task", "Write a haiku", "done")
    ]
    assert transcript.task_graph["graph"]["planned"] is False


def test_resume_keeps_the_saved_guard_and_assist_settings() -> None:
    from rolecall import Assist

    stopped = album(
        ["Instruction: pick colours\nInput: None"], [SOLUTION], max_turns=1, assist=Assist(stops=False, few_shot=True)
    ).run()
    resumed = RolePlay.resume(stopped, user_model=ScriptedModel([DONE]), assistant_model=ScriptedModel([]))
    assert resumed.settings.guards == GuardSettings.off()
    assert resumed.settings.assist == Assist(stops=False, few_shot=True)
    assert resumed.transcript.settings == stopped.settings | {"max_turns": 2}  # one more turn than it had
