"""Judges behind one interface: the registry, the done rule, calibration figures, the gold set, the llm judge.

The probe, which runs the embedded model, is tested in ``test_probe.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from plugins import install_plugin

from rolecall import RolePlay
from rolecall.cli import main
from rolecall.errors import SpecError
from rolecall.judges import JUDGES, Dialogue, Judge, LexicalJudge, LLMJudge, TurnInContext, Verdict, register_judge
from rolecall.judges import gold as gold_set
from rolecall.judges.base import in_context, judge_dialogue
from rolecall.judges.calibration import Agreement
from rolecall.judges.logistic import Logistic
from rolecall.judges.recorded import draft_reader, recorded_verdicts
from rolecall.judges.training import folds, source_baseline
from rolecall.settings import GuardSettings
from rolecall.testing import FunctionModel, ScriptedModel
from rolecall.transcripts import append
from rolecall.transcripts.content import problem
from rolecall.transcripts.harvest import harvest
from rolecall.transcripts.report import HarvestOptions

TASK = "Plan a week of school lunches without meat"
ROLES = ("Teenager", "Nutritionist")


@pytest.fixture(autouse=True)
def _registry_restored() -> Iterator[None]:
    """Judges registered by a test leave with it."""
    with JUDGES.scoped():
        yield


class Everything(Judge):
    """Calls every turn on task (a test's judge)."""

    name = "everything"

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        return [self.verdict(True, 0.9) for _ in turns]


class Nothing(Judge):
    """Calls every turn off task."""

    name = "nothing"

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        return [self.verdict(False, 0.1, "never") for _ in turns]


def dialogue(*turns: tuple[str, str]) -> Dialogue:
    return Dialogue(TASK, turns, roles=ROLES)  # type: ignore[arg-type]


def test_a_judge_joins_the_registry_like_a_builtin_and_a_taken_name_is_one_line() -> None:
    register_judge(Everything)
    assert list(JUDGES.members())[:3] == ["lexical", "llm", "probe"]
    assert JUDGES.get("everything") is Everything

    class Impostor(Everything):
        name = "lexical"

    with pytest.raises(SpecError, match=r"judge name 'lexical' is taken by rolecall\.judges\.lexical\.LexicalJudge"):
        register_judge(Impostor)
    with pytest.raises(SpecError, match="no such judge 'nope'; known: lexical, llm, probe, everything"):
        JUDGES.get("nope")


def test_a_judge_from_an_installed_package_joins_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from rolecall.judges import Judge\n"
        "class Strict(Judge):\n"
        "    '''Calls every turn off task.'''\n"
        "    name = 'strict'\n"
        "    async def verdicts(self, turns):\n"
        "        return [self.verdict(False, 0.0, 'strict') for _ in turns]\n"
    )
    install_plugin(
        tmp_path, monkeypatch, JUDGES, package="strict_judges", source=source, entry="strict = strict_judges:Strict"
    )
    assert "strict" in JUDGES.members()
    verdicts = asyncio.run(judge_dialogue(JUDGES.get("strict")(), [dialogue(("user", "Instruction: list soups"))]))
    assert verdicts == [[Verdict(False, 0.0, "strict", "strict")]]


def test_a_done_token_is_on_task_only_after_a_solution_the_judge_called_on_task() -> None:
    plays = [
        dialogue(("user", "Instruction: list three soups\nInput: None"), ("assistant", "Solution: lentil, pea, leek.")),
        dialogue(("user", "<TASK_DONE>")),
    ]
    plays[0] = Dialogue(TASK, [*plays[0].turns, ("user", "<TASK_DONE>")], roles=ROLES)
    on = asyncio.run(judge_dialogue(Everything(), plays))
    off = asyncio.run(judge_dialogue(Nothing(), plays))
    assert [v.on_task for v in on[0]] == [True, True, True]
    assert on[1] == [Verdict(False, 0.0, "done_without_work", "everything")]
    assert [v.on_task for v in off[0]] == [False, False, False]
    assert off[0][2].reason == "done_without_work"


def test_the_lexical_judge_gives_the_content_checks_verdicts() -> None:
    turns = [
        ("user", "Instruction: Plan a week of school lunches without meat\nInput: None"),
        ("assistant", "Solution: I will plan the lunches."),
        ("user", "Instruction: Which days need a packed lunch?\nInput: None"),
        ("assistant", "Solution: Monday to Friday: bean wraps, pasta salad, soup, falafel, pizza."),
    ]
    contexts = list(in_context(dialogue(*turns)))
    verdicts = asyncio.run(LexicalJudge().verdicts(contexts))
    assert [v.reason for v in verdicts] == ["restates_task", "promise", None, None]
    assert [v.reason for v in verdicts] == [problem(t.text, t.side, t.context, "<TASK_DONE>") for t in contexts]
    assert contexts[3].context.last_instruction == "Which days need a packed lunch?"
    assert contexts[2].context.instructions == ("Plan a week of school lunches without meat",)


def test_agreement_figures_match_a_hand_count() -> None:
    labels = [True, True, True, True, False, False, False, False, False, False]
    called = [True, True, True, False, True, False, False, False, False, False]
    agreement = Agreement.of(labels, called)
    assert (agreement.true_positive, agreement.false_positive, agreement.false_negative) == (3, 1, 1)
    assert agreement.accuracy == pytest.approx(0.8)
    assert agreement.precision == pytest.approx(0.75)
    assert agreement.recall == pytest.approx(0.75)
    # chance agreement: 0.4 * 0.4 + 0.6 * 0.6 = 0.52; kappa = (0.8 - 0.52) / 0.48
    assert agreement.kappa == pytest.approx(0.28 / 0.48)
    with pytest.raises(ValueError, match="3 labels but 2 verdicts"):
        Agreement.of([True, False, True], [True, False])


def test_the_gold_set_is_big_split_by_role_play_and_balanced_enough_that_the_source_tells_little() -> None:
    plays = gold_set.read()
    turns = [turn for play in plays for turn in play.turns]
    assert len(turns) >= 600 and len(plays) >= 40
    assert {turn.side for turn in turns} == {"user", "assistant"}
    by_source = Counter((turn.source, turn.on_task) for turn in turns)
    for source in gold_set.SOURCES:
        on, off = by_source[source, True], by_source[source, False]
        assert min(on, off) / (on + off) >= 0.25, f"{source}: {on} on task, {off} off"
    train, test = gold_set.split(plays, "train"), gold_set.split(plays, "test")
    assert {play.id for play in train}.isdisjoint(play.id for play in test)
    assert len(test) >= 15 and sum(len(play.turns) for play in test) >= 200
    assert source_baseline(train, test).accuracy < 0.75


def test_a_labels_file_out_of_shape_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "x", "split": "dev", "task": "t", "user_role": "a", "assistant_role": "b", "turns": []}\n')
    with pytest.raises(SpecError, match=r"labels.jsonl:1: not a gold role-play \(split must be train or test"):
        gold_set.read(bad)
    with pytest.raises(SpecError, match="cannot read labels"):
        gold_set.read(tmp_path / "missing.jsonl")


def test_the_logistic_regression_separates_what_is_separable_and_survives_a_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3))
    labels = (features[:, 0] - 2 * features[:, 2] > 0).astype(np.float64)
    model = Logistic.fit(features, labels, l2=0.1)
    assert ((model.probability(features) >= 0.5) == labels).mean() > 0.97
    model.save(tmp_path / "w.json", note="test")
    record = json.loads((tmp_path / "w.json").read_text())
    again = Logistic.from_dict(record["model"])
    assert record["note"] == "test"
    assert np.allclose(again.probability(features), model.probability(features), atol=1e-4)


def test_folds_keep_each_role_play_whole() -> None:
    groups = [f"p{i // 7}" for i in range(70)]
    fold = folds(groups)
    assert {len({fold[i] for i in range(len(groups)) if groups[i] == g}) for g in set(groups)} == {1}
    assert set(fold.tolist()) == {0, 1, 2, 3, 4}


def test_the_llm_judge_asks_under_a_schema_and_reads_the_verdict() -> None:
    def answer(messages: Sequence[dict[str, str]]) -> str:
        turn = messages[-1]["content"].rsplit("turn to judge:", 1)[-1]
        on = "lentil" in turn
        return json.dumps({"on_task": on, "confidence": 0.8, "reason": "lists soups" if on else "about the weather"})

    model = FunctionModel(answer)
    judge = LLMJudge(model)
    plays = [
        dialogue(
            ("user", "Instruction: list three soups\nInput: None"),
            ("assistant", "Solution: lentil, pea, leek."),
            ("assistant", "Solution: it is sunny today."),
        )
    ]
    verdicts = asyncio.run(judge_dialogue(judge, plays))[0]
    assert [v.on_task for v in verdicts] == [False, True, False]
    assert verdicts[1] == Verdict(True, pytest.approx(0.9), None, "llm")  # type: ignore[arg-type]
    assert verdicts[2].reason == "about the weather" and verdicts[2].score == pytest.approx(0.1)
    assert judge.calls == 3
    system = model.calls[0][0]["content"]
    assert "ON TASK" in system and "Truth decides nothing" in system
    assert model.call_params[0].json_schema["required"] == ["on_task", "confidence", "reason"]  # type: ignore[union-attr,index]
    assert "The instruction it answers:\nlist three soups" in model.calls[1][1]["content"]


def test_an_llm_verdict_out_of_shape_is_off_task_and_says_so() -> None:
    judge = LLMJudge(ScriptedModel(["not json", '{"on_task": "yes", "confidence": 1, "reason": ""}']))
    turns = list(in_context(dialogue(("user", "Instruction: a\nInput: None"), ("user", "Instruction: b\nInput: None"))))
    verdicts = [asyncio.run(judge.read(turn)) for turn in turns]
    assert [(v.on_task, v.reason) for v in verdicts] == [(False, "unreadable_verdict"), (False, "unreadable_verdict")]


def write_roleplay(path: Path, *replies: str) -> str:
    transcript = RolePlay(
        TASK, assistant_role=ROLES[1], user_role=ROLES[0], guards=GuardSettings.off(),
        user_model=ScriptedModel([replies[0], "<TASK_DONE>"]), assistant_model=ScriptedModel(list(replies[1:])),
    ).run()  # fmt: skip
    append(path, transcript)
    return transcript.id


def test_rolecall_judge_writes_one_verdict_per_accepted_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "t.jsonl"
    first = write_roleplay(
        saved,
        "Instruction: list three meatless lunches for Monday\nInput: None",
        "Solution: lentil, pea and leek soup.\nNext request.",
    )
    second = write_roleplay(
        saved, "Instruction: list three lunch wraps\nInput: None", "Solution: I will list them.\nNext request."
    )
    out = tmp_path / "verdicts.jsonl"
    assert main(["judge", str(saved), "--judge", "lexical", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["conversation_id"], line["message_index"], line["side"]) for line in lines] == [
        (first, 0, "user"), (first, 1, "assistant"), (first, 2, "user"),
        (second, 0, "user"), (second, 1, "assistant"), (second, 2, "user"),
    ]  # fmt: skip
    assert [line["on_task"] for line in lines] == [True, True, True, True, False, False]
    assert lines[4]["reason"] == "promise" and lines[5]["reason"] == "done_without_work"
    assert set(lines[0]) == {"conversation_id", "message_index", "side", "on_task", "score", "reason", "judge"}
    assert "judged 6 turns of 2 conversations with lexical: 4 on task" in capsys.readouterr().out


def test_rolecall_judge_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["judge", str(tmp_path), "--judge", "nope", "--out", str(tmp_path / "v.jsonl")]) == 2
    assert "no such judge 'nope'" in capsys.readouterr().err
    assert main(["judge", str(tmp_path)]) == 2
    assert "give --out VERDICTS.jsonl" in capsys.readouterr().err
    assert main(["judge", "train"]) == 2
    assert "give LABELS" in capsys.readouterr().err
    assert main(["judge", "calibrate", str(tmp_path)]) == 2
    assert "judge calibrate takes no files" in capsys.readouterr().err


def test_rolecall_judge_calibrate_prints_the_lexical_judge_and_the_source_baseline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["judge", "calibrate", "--judge", "lexical", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["gold"] == gold_set.VERSION
    lexical, baseline = report["judges"]["lexical"], report["judges"]["source only"]
    assert lexical["turns"] == baseline["turns"] >= 200
    assert 0.3 < lexical["accuracy"] < 0.9  # what word counts can and cannot read, measured, not assumed
    assert set(lexical) >= {"accuracy", "precision", "recall", "kappa", "turns_per_s"}


class Longest(Judge):
    """Scores a turn by its length (a test's judge)."""

    name = "longest"

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        return [self.verdict(len(turn.field) > 20, min(1.0, len(turn.field) / 100), "short") for turn in turns]


def test_the_critic_by_judge_picks_the_draft_the_judge_scores_highest_and_records_its_verdict() -> None:
    register_judge(Longest)
    drafts = ["Solution: soup.", "Solution: lentil soup on Monday, bean wraps on Tuesday.", "Solution: wraps."]
    transcript = RolePlay(
        TASK, assistant_role=ROLES[1], user_role=ROLES[0], guards=GuardSettings.off(),
        critic={"by": "judge", "judge": "longest", "candidates": 3},
        user_model=ScriptedModel(["Instruction: plan Monday and Tuesday\nInput: None", "<TASK_DONE>"]),
        assistant_model=ScriptedModel(drafts),
    ).run()  # fmt: skip
    assert transcript.messages[1].content == drafts[1]
    critic = next(event.model_extra or {} for event in transcript.events if event.kind == "critic")
    assert critic["by"] == "judge" and critic["choice"] == 1 and critic["scores"] == [0.05, 0.45, 0.06]
    recorded = recorded_verdicts(transcript.events)
    assert list(recorded) == [1] and recorded[1] == Verdict(True, 0.45, None, "longest")
    with pytest.raises(SpecError, match="mode must be pick"):
        RolePlay(
            TASK, assistant_role="a", user_role="b", critic={"by": "judge", "mode": "review"},
            user_model=ScriptedModel([]), assistant_model=ScriptedModel([]),
        )  # fmt: skip


def test_preference_pairs_keep_a_draft_judged_on_task_against_one_judged_off(tmp_path: Path) -> None:
    promise, work = (
        "Solution: I will plan the lunches.",
        "Solution: bean wraps Monday, lentil soup Tuesday.\nNext request.",
    )
    transcript = RolePlay(
        TASK, assistant_role=ROLES[1], user_role=ROLES[0],
        user_model=ScriptedModel(["Instruction: plan Monday and Tuesday lunches\nInput: None", "<TASK_DONE>"]),
        assistant_model=ScriptedModel([promise, work]),
    ).run()  # fmt: skip
    assert any(event.kind == "guard" for event in transcript.events)  # the promise was re-asked
    source = tmp_path / "t.jsonl"
    append(source, transcript)
    kept = {}
    for judge in (LexicalJudge(), Everything(), Nothing()):
        options = HarvestOptions(format="dpo", draft_reader=draft_reader(judge), judge=judge.name)
        kept[judge.name] = harvest([source], tmp_path / judge.name, options).rows["train"]
    assert kept == {"lexical": 1, "everything": 0, "nothing": 0}


def test_turn_marks_made_in_review_become_labels_for_judge_train(tmp_path: Path) -> None:
    from rolecall.judges.training import labelled_plays
    from rolecall.transcripts.marks import MARKS_FILE, Mark, add

    folder = tmp_path / "runs"
    folder.mkdir()
    first = write_roleplay(
        folder / "t.jsonl", "Instruction: list three meatless lunches\nInput: None", "Solution: wraps, soup, pasta."
    )
    marks = folder / MARKS_FILE
    add(marks, Mark(id=first, verdict="on_task", message_index=1))
    add(marks, Mark(id=first, verdict="off_task", message_index=0))
    add(marks, Mark(id=first, verdict="keep"))
    (play,) = labelled_plays([str(marks)])
    assert play.id == first and play.task == TASK
    assert [(turn.side, turn.on_task) for turn in play.turns] == [("user", False), ("assistant", True), ("user", None)]
    with pytest.raises(SpecError, match="neither 'gold', a labels file nor a marks file"):
        labelled_plays([str(tmp_path / "nothing.jsonl")])
