"""The probe judge on the embedded model: verdicts, ``rolecall judge`` by default, refitting from labels.

These run SmolLM2 through llama.cpp's server in embedding mode (the ``local`` extra). How well
the shipped weights read is measured on the gold test split by ``rolecall judge calibrate``
and ``bench/judges.py`` (figures in docs/judges.md), not here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rolecall import RolePlay
from rolecall.cli import main
from rolecall.judges import Dialogue, ProbeJudge, judge_dialogue
from rolecall.judges import gold as gold_set
from rolecall.judges.probe import load, weights_file
from rolecall.settings import GuardSettings
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append

pytestmark = pytest.mark.embedded

TASK = "Plan a week of school lunches without meat"
LUNCHES = (
    "Solution: Monday: bean and cheese wrap. Tuesday: lentil soup with bread. Wednesday: pasta salad with "
    "chickpeas. Thursday: falafel pitta. Friday: vegetable pizza slice.\nNext request."
)


def test_the_probe_reads_a_concrete_answer_on_task_and_debris_off() -> None:
    dialogue = Dialogue(
        TASK,
        [
            ("user", "Instruction: List five meatless lunches for Monday to Friday.\nInput: None"),
            ("assistant", LUNCHES),
            ("user", "Instruction: Give the shopping list for Monday's lunch.\nInput: None"),
            ("assistant", "Solution: }\nNext request."),
            ("user", "<TASK_DONE>"),
        ],
        roles=("Teenager", "Nutritionist"),
    )
    with ProbeJudge() as judge:
        verdicts = asyncio.run(judge_dialogue(judge, [dialogue]))[0]
        again = asyncio.run(judge_dialogue(judge, [dialogue]))[0]  # a second event loop, as a harvest makes
    assert [v.score for v in again] == pytest.approx([v.score for v in verdicts], abs=1e-4)
    assert [v.judge for v in verdicts] == ["probe"] * 5
    assert verdicts[1].on_task and not verdicts[3].on_task
    assert verdicts[1].score > 0.7 and verdicts[3].score < 0.3
    assert verdicts[3].reason == "no_substance"  # what the words show is named; else "off_meaning"
    assert verdicts[4].on_task  # the done token after a solution the probe called on task


def test_rolecall_judge_uses_the_probe_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transcript = RolePlay(
        TASK, assistant_role="Nutritionist", user_role="Teenager", guards=GuardSettings.off(),
        user_model=ScriptedModel(["Instruction: List five meatless lunches.\nInput: None", "<TASK_DONE>"]),
        assistant_model=ScriptedModel([LUNCHES]),
    ).run()  # fmt: skip
    append(tmp_path / "t.jsonl", transcript)
    out = tmp_path / "verdicts.jsonl"
    assert main(["judge", str(tmp_path / "t.jsonl"), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["message_index"], line["judge"]) for line in lines] == [(0, "probe"), (1, "probe"), (2, "probe")]
    assert lines[1]["on_task"] and 0.5 <= lines[1]["score"] <= 1
    assert "with probe" in capsys.readouterr().out


def test_judge_train_refits_the_probe_and_the_probe_reads_the_new_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plays = gold_set.split(gold_set.read(), "train")[:2]
    labels = tmp_path / "labels.jsonl"
    gold_set.write(plays, labels)
    weights = tmp_path / "probe.json"
    monkeypatch.setenv("ROLECALL_PROBE_WEIGHTS", str(weights))
    assert main(["judge", "train", str(labels)]) == 0
    assert "the probe reads these weights from now on" in capsys.readouterr().out
    classifier, about = load()
    assert weights_file() == weights and about["plays"] == 2 and about["gold"] == gold_set.VERSION
    assert about["turns"] == sum(1 for _ in gold_set.labelled(plays)) and 0 < about["cv_accuracy"] <= 1
    assert len(classifier.weights) == len(load(weights)[0].weights)
