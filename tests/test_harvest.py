"""Harvesting transcripts into training datasets: perspectives, formats, floor, dedup, splits."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from rolecall import GuardSettings, RolePlay, TaskGraph, Transcript
from rolecall.agents.members import Member
from rolecall.cli import main
from rolecall.dialogue import Society
from rolecall.testing import FunctionModel, ScriptedModel
from rolecall.transcripts import append
from rolecall.transcripts.formats import FORMATS
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.perspective import chat_for
from rolecall.transcripts.quality import QualityFloor
from rolecall.transcripts.report import HarvestOptions

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
DONE = "<TASK_DONE>"
TOPICS = [
    "moving averages on daily closing prices", "a risk limit of two percent per trade",
    "backtesting against five years of data", "alerts sent by email on each fill",
    "a dashboard of open positions", "position sizing by volatility",
]  # fmt: skip


def roleplay(task: str = "Develop a trading bot", *, variant: int = 0, **options: object) -> Transcript:
    """A finished two-turn role-play whose wording depends on ``variant``."""
    topic_a, topic_b = TOPICS[variant % len(TOPICS)], TOPICS[(variant + 1) % len(TOPICS)]
    user = [
        f"Instruction: design the bot's {topic_a}\nInput: None",
        f"Instruction: now add {topic_b} to the bot\nInput: None",
        DONE,
    ]
    assistant = [
        f"Solution: here is the design for {topic_a}, step by step, variant {variant}.\nNext request.",
        f"Solution: {topic_b} is added, with tests and notes, variant {variant}.\nNext request.",
    ]
    return RolePlay(
        task, assistant_role="Python Programmer", user_role="Stock Trader",
        user_model=ScriptedModel(user), assistant_model=ScriptedModel(assistant), **options,  # type: ignore[arg-type]
    ).run()  # fmt: skip


def write(path: Path, transcripts: list[Transcript]) -> Path:
    for transcript in transcripts:
        append(path, transcript, fsync=False)
    return path


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- perspectives and loss policies on a known transcript ------------------------------------


def test_executor_perspective_maps_instructor_to_user_and_drops_the_done_token() -> None:
    transcript = roleplay()
    chat = chat_for(transcript, "assistant")
    assert chat is not None
    assert [(t.role, t.content) for t in chat.turns] == [
        ("system", transcript.agents[1].system_prompt),
        ("user", transcript.messages[0].content),
        ("assistant", transcript.messages[1].content),
        ("user", transcript.messages[2].content),
        ("assistant", transcript.messages[3].content),
    ]


def test_instructor_perspective_opens_with_the_kickoff_and_keeps_the_done_token() -> None:
    transcript = roleplay()
    chat = chat_for(transcript, "user")
    assert chat is not None
    assert [(t.role, t.content) for t in chat.turns] == [
        ("system", transcript.agents[0].system_prompt),
        ("user", transcript.kickoff),
        ("assistant", transcript.messages[0].content),
        ("user", transcript.messages[1].content),
        ("assistant", transcript.messages[2].content),
        ("user", transcript.messages[3].content),
        ("assistant", DONE),
    ]


def test_instructor_perspective_includes_the_subtask_notes_it_saw() -> None:
    graph = TaskGraph()
    graph.add("a", "Design the strategy")
    graph.add("b", "Write the code", after=["a"])
    user = ["Instruction: pick a strategy\nInput: None", DONE, "Instruction: code it\nInput: None", DONE]
    assistant = ["Solution: crossover of moving averages.\nNext request.", "Solution: done in Python.\nNext request."]
    transcript = RolePlay(
        "Build a bot", assistant_role="P", user_role="T", graph=graph,
        user_model=ScriptedModel(user), assistant_model=ScriptedModel(assistant),
    ).run()  # fmt: skip
    chat = chat_for(transcript, "user")
    assert chat is not None
    position = next(i for i, t in enumerate(chat.turns) if 'Next is the subtask "Write the code"' in t.content)
    assert chat.turns[position].role == "user"
    assert chat.turns[position - 1].content == DONE
    executor = chat_for(transcript, "assistant")
    assert executor is not None and all(DONE not in t.content for t in executor.turns)


@pytest.mark.parametrize(
    ("fmt", "loss", "expected"),
    [
        ("openai", "all", [[1, 1]]),
        ("openai", "last", [[0, 1]]),
        ("trl-pc", "all", [2, 4]),
        ("trl-pc", "last", [4]),
        ("alpaca", "all", [0, 1]),
        ("alpaca", "last", [1]),
    ],
)
def test_loss_policies_give_exactly_the_expected_rows(
    fmt: str, loss: str, expected: list[object], tmp_path: Path
) -> None:
    source = write(tmp_path / "in.jsonl", [roleplay()])
    harvest([source], tmp_path / "out", HarvestOptions(format=fmt, loss=loss))  # type: ignore[arg-type]
    written = rows(tmp_path / "out" / "train.jsonl")
    if fmt == "openai":
        weights = [[m["weight"] for m in row["messages"] if m["role"] == "assistant"] for row in written]  # type: ignore[attr-defined]
        assert weights == expected
        assert all("weight" not in m for row in written for m in row["messages"] if m["role"] != "assistant")  # type: ignore[attr-defined]
    elif fmt == "trl-pc":
        assert [len(row["prompt"]) for row in written] == expected  # type: ignore[arg-type]
        assert all(row["completion"][0]["role"] == "assistant" for row in written)  # type: ignore[index]
    else:
        assert [len(row["history"]) for row in written] == expected  # type: ignore[arg-type]
        assert written[-1]["output"].startswith("Solution: ")  # type: ignore[union-attr]
        assert written[-1]["instruction"].startswith("Instruction: now add")  # type: ignore[union-attr]


# -- every format, structurally and through `datasets` ---------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_well_formed_and_loads_in_datasets(fmt: str, tmp_path: Path) -> None:
    import datasets

    source = write(tmp_path / "in.jsonl", [roleplay(variant=n) for n in range(4)])
    report = harvest([source], tmp_path / "out", HarvestOptions(format=fmt))
    assert report.kept == 4
    if fmt == "dpo":  # no guard or critic judged these turns, so no pairs: tests/test_dataset_rows.py has them
        assert sum(report.rows.values()) == 0 and report.pairs == {}
        return
    if fmt == "parquet":
        loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "out" / "train.parquet"))["train"]
        assert loaded.num_rows == 4 and loaded[0]["messages"][0]["speaker"] == "Stock Trader"
        return
    path = tmp_path / "out" / "train.jsonl"
    loaded = datasets.load_dataset("json", data_files=str(path))["train"]
    assert loaded.num_rows == len(rows(path))
    for row in rows(path):
        if fmt in ("openai", "trl"):
            roles = [m["role"] for m in row["messages"]]  # type: ignore[index]
            assert roles[0] == "system" and roles[-1] == "assistant"
            assert all(a != b for a, b in itertools.pairwise(roles[1:]))  # alternation
        elif fmt == "sharegpt":
            turns = row["conversations"]
            assert turns[0]["from"] == "system"  # type: ignore[index]
            for position, turn in enumerate(turns[1:], start=1):  # type: ignore[index]
                assert turn["from"] == ("human" if position % 2 == 1 else "gpt")
        elif fmt == "trl-pc":
            assert row["prompt"][-1]["role"] == "user"  # type: ignore[index]
        elif fmt == "alpaca":
            assert set(row) == {"instruction", "input", "output", "system", "history"}


# -- the quality floor -----------------------------------------------------------------------


def test_the_floor_drops_and_counts_by_reason_and_keeps_rejected(tmp_path: Path) -> None:
    stopped = roleplay(variant=1, max_turns=1)
    refusal = RolePlay(
        "t", assistant_role="A", user_role="U", guards=GuardSettings.off(),
        user_model=ScriptedModel(["Instruction: trade for me\nInput: None", DONE]),
        assistant_model=ScriptedModel(["Solution: As an AI language model, I cannot trade.\nNext request."]),
    ).run()  # fmt: skip
    flagged = RolePlay(
        "t2", assistant_role="A", user_role="U", guards=GuardSettings(refusal="flag"),
        user_model=ScriptedModel(["Instruction: trade\nInput: None", DONE]),
        assistant_model=ScriptedModel(["Solution: I'm sorry, I'm unable to do that.\nNext request."]),
    ).run()  # fmt: skip
    source = write(tmp_path / "in.jsonl", [roleplay(variant=0), stopped, refusal, flagged])
    report = harvest([source], tmp_path / "out", HarvestOptions(keep_rejected=True))
    assert report.kept == 1
    assert dict(report.dropped) == {"ended:max_turns": 1, "refusal": 1, "guard:refusal": 1}
    rejected = rows(tmp_path / "out" / "rejected.jsonl")
    assert sorted(r["filter_reason"] for r in rejected) == ["ended:max_turns", "guard:refusal", "refusal"]  # type: ignore[type-var]
    assert {r["id"] for r in rejected} == {stopped.id, refusal.id, flagged.id}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| ended:max_turns | 1 |" in card and "| refusal | 1 |" in card


def test_min_turns_and_min_score(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [roleplay(variant=0)])
    report = harvest([source], tmp_path / "a", HarvestOptions(floor=QualityFloor(min_turns=4)))
    assert dict(report.dropped) == {"too_few_turns": 1}
    report = harvest([source], tmp_path / "b", HarvestOptions(floor=QualityFloor(min_score=0.99)))
    assert dict(report.dropped) == {"low_score": 1}
    report = harvest([source], tmp_path / "c", HarvestOptions(floor=QualityFloor(min_score=0.1)))
    assert report.kept == 1 and report.scores and 0.1 <= report.scores[0] <= 1


def test_the_llm_judge_reads_each_turn_for_the_floor_and_its_calls_are_metered(tmp_path: Path) -> None:
    from rolecall.judges import LLMJudge
    from rolecall.judges.recorded import turn_reader

    source = write(tmp_path / "in.jsonl", [roleplay(variant=0), roleplay(variant=1)])
    turns = sum(1 for m in roleplay(variant=0).spoken if "<TASK_DONE>" not in m.content)
    on = '{"on_task": true, "confidence": 0.9, "reason": "does the step"}'
    off = '{"on_task": false, "confidence": 0.8, "reason": "about another task"}'
    judge = LLMJudge(ScriptedModel([on] * turns + [on, off] + [on] * (turns - 2)))
    options = HarvestOptions(turn_reader=turn_reader(judge), judge="llm")
    report = harvest([source], tmp_path / "out", options)
    assert report.kept == 1 and dict(report.dropped) == {"content:about another task": 1}
    assert judge.calls == 2 * turns and judge.usage.prompt_tokens > 0
    assert report.judge == {"name": "llm"}


# -- dedup, splits, secrets, bad input ------------------------------------------------------


def test_exact_and_near_duplicates_are_clustered(tmp_path: Path) -> None:
    original = roleplay(variant=0)
    exact = original.model_copy(update={"id": "exact-copy"})
    near = original.model_copy(deep=True, update={"id": "near-copy"})
    near.messages[3].content = near.messages[3].content.replace("tests", "unit tests")
    distinct = [roleplay(variant=n) for n in range(2, 5)]
    source = write(tmp_path / "in.jsonl", [original, exact, near, *distinct])
    report = harvest([source], tmp_path / "out", HarvestOptions(near_dup_threshold=0.7))
    assert report.kept == 4
    assert report.dedup.as_dict() == {"exact_clusters": 1, "exact_dropped": 1, "near_clusters": 1, "near_dropped": 1}
    report = harvest([source], tmp_path / "exact-only", HarvestOptions(near_dup=False))
    assert report.kept == 5 and report.dedup.exact_dropped == 1


def test_split_by_group_never_straddles_and_is_seeded(tmp_path: Path) -> None:
    tasks = [f"Develop trading bot number {n}" for n in range(12)]
    corpus = [roleplay(task, variant=n + 6 * k) for n, task in enumerate(tasks) for k in range(2)]
    source = write(tmp_path / "in.jsonl", corpus)
    first = harvest([source], tmp_path / "one", HarvestOptions(train_share=0.6, seed=3, near_dup=False))
    again = harvest([source], tmp_path / "two", HarvestOptions(train_share=0.6, seed=3, near_dup=False))
    assert first.conversations == again.conversations
    assert set(first.conversations) == {"train", "validation"}
    by_task: dict[str, set[str]] = {}
    for split in ("train", "validation"):
        for row in rows(tmp_path / "one" / f"{split}.jsonl"):
            system = row["messages"][0]["content"]  # type: ignore[index]
            by_task.setdefault(system, set()).add(split)
    assert all(len(splits) == 1 for splits in by_task.values())


def test_secrets_are_scrubbed_and_counted(tmp_path: Path) -> None:
    transcript = roleplay()
    transcript.messages[1].content += " Use key sk-proj-abcdefghijklmnopqrstuvwx and hf_" + "a" * 34
    transcript.messages[3].content += " AKIAABCDEFGHIJKLMNOP"
    source = tmp_path / "in.jsonl"  # written by another tool: rolecall's own store scrubs on the way in
    source.write_text(transcript.to_json() + "\n")
    report = harvest([source], tmp_path / "out", HarvestOptions())
    text = (tmp_path / "out" / "train.jsonl").read_text()
    assert report.secrets_scrubbed == 3
    assert "sk-proj" not in text and "hf_aaa" not in text and "AKIA" not in text and "[REDACTED]" in text


def test_malformed_lines_are_reported_counted_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = roleplay().to_json()
    future = json.dumps(json.loads(good) | {"schema_version": 7})
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([good, "{broken", future]) + "\n" + good[:100])
    code = main(["harvest", "--judge", "lexical", str(source), "--format", "openai", "--out", str(tmp_path / "out")])
    assert code == 0
    captured = capsys.readouterr()
    assert f"{source}:2: not JSON" in captured.err
    assert f"{source}:3: unknown schema_version 7" in captured.err
    assert f"{source}:4: truncated line" in captured.err
    assert "read 1, kept 1" in captured.out and "unreadable lines 3" in captured.out
    report = json.loads((tmp_path / "out" / "harvest_report.json").read_text())
    assert report["malformed_lines"] == 3


def test_a_resumed_conversation_supersedes_its_parent(tmp_path: Path) -> None:
    parent = roleplay(variant=0, max_turns=1)
    child = RolePlay.resume(
        parent, user_model=ScriptedModel(["Instruction: finish the bot with a test of its rules\nInput: None", DONE]),
        assistant_model=ScriptedModel(["Solution: the test covers every trading rule.\nNext request."]), max_turns=3,
    ).run()  # fmt: skip
    source = write(tmp_path / "in.jsonl", [parent, child])
    report = harvest([source], tmp_path / "out", HarvestOptions())
    assert report.kept == 1 and dict(report.dropped) == {"superseded_by_resume": 1}


def test_society_members_are_perspectives_by_name(tmp_path: Path) -> None:
    counter = iter(range(100))

    def reply(messages: object) -> str:
        system = messages[0]["content"]  # type: ignore[index]
        name = system.split(",")[0].removeprefix("You are ")
        n = next(counter)
        return DONE if name == "Priya" and n > 3 else f"{name} proposes idea {n}: {TOPICS[n % len(TOPICS)]}."

    members = [Member(name="Priya", role="PM"), Member(name="Sam", role="Engineer"), Member(name="Rae", role="QA")]
    transcript = Society("Ship it", members, model=FunctionModel(reply)).run()
    source = write(tmp_path / "in.jsonl", [transcript])
    report = harvest([source], tmp_path / "out", HarvestOptions(perspective="Sam"))
    assert report.kept == 1
    [row] = rows(tmp_path / "out" / "train.jsonl")
    messages = row["messages"]
    assert all(m["content"].startswith("Sam proposes") for m in messages if m["role"] == "assistant")  # type: ignore[union-attr]
    assert any("Priya: " in m["content"] for m in messages if m["role"] == "user")  # type: ignore[union-attr]
    report = harvest([source], tmp_path / "nobody", HarvestOptions(perspective="Zed"))
    assert dict(report.dropped) == {"no_such_perspective": 1}


def test_card_and_trainer_configs(tmp_path: Path) -> None:
    source = write(tmp_path / "in.jsonl", [roleplay(variant=n) for n in range(3)])
    harvest([source], tmp_path / "out", HarvestOptions(format="sharegpt", loss="last", train_share=0.5, seed=1))
    card = (tmp_path / "out" / "README.md").read_text()
    assert "**sharegpt**" in card and "kept: 3" in card and "scripted" in card
    assert "Train share 0.5" in card
    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text())
    entry = next(iter(info.values()))
    assert entry["formatting"] == "sharegpt" and entry["mask_history"] is True
    assert entry["tags"]["assistant_tag"] == "gpt"
    assert "type: chat_template" in (tmp_path / "out" / "axolotl.yaml").read_text()


def test_harvest_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "in.jsonl", [roleplay()])
    assert main(["harvest", "--judge", "lexical", str(source), "--format", "csv", "--out", str(tmp_path / "o")]) == 2
    assert "invalid choice" in capsys.readouterr().err
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
                str(tmp_path / "o"),
                "--split",
                "2",
            ]
        )
        == 2
    )
    assert "--split 2.0" in capsys.readouterr().err
    assert main(["harvest", "--judge", "lexical", "nowhere", "--format", "openai", "--out", str(tmp_path / "o")]) == 2
    assert "nowhere: no such file" in capsys.readouterr().err


def test_stats_table_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "in.jsonl", [roleplay(variant=0), roleplay(variant=1, max_turns=1)])
    assert main(["stats", "--judge", "lexical", str(source), "--plot", str(tmp_path / "stats.html")]) == 0
    shown = capsys.readouterr().out
    assert "conversations" in shown and "task_done" in shown and "max_turns" in shown
    page = (tmp_path / "stats.html").read_text()
    assert "<svg" in page and "Termination reasons" in page
    assert main(["stats", "--judge", "lexical", str(source), "--plot", str(tmp_path / "stats.png")]) == 0
    assert (tmp_path / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
