"""Fitting the probe: labelled turns in, the classifier's weights out, its penalty chosen by cross-validation.

Labels come from the gold set (``gold``: its train split), from any file in the gold set's
format, or from per-turn marks made in ``rolecall view --review`` (a marks file beside
transcripts). The penalty is chosen by five-fold cross-validation grouped by role-play, so a
dialogue's turns never sit on both sides of a fold, and the probe is then fitted on all of
them. The weights go to the user's data folder by default, which the probe reads from then on
(``ROLECALL_PROBE_WEIGHTS`` names another file).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rolecall.errors import SpecError
from rolecall.judges import gold as gold_set
from rolecall.judges.base import dialogue_of, in_context, is_done
from rolecall.judges.calibration import Agreement, majority_by
from rolecall.judges.logistic import Logistic
from rolecall.judges.probe import feature_rows
from rolecall.transcripts import marks, store
from rolecall.transcripts.record import DONE_TOKEN

PENALTIES = (1.0, 10.0, 100.0, 1000.0)
FOLDS = 5


def is_marks_file(path: Path) -> bool:
    return path.name == marks.MARKS_FILE or path.name.endswith(".marks.jsonl")


def marked_plays(path: Path) -> list[gold_set.GoldPlay]:
    """The role-plays a reviewer marked turns of in ``rolecall view --review``, labelled by those marks."""
    turn_marks = marks.read_turns(path)
    ids = {id for id, _ in turn_marks}
    plays = []
    for transcript in store.read(marks.transcripts_of(path)):
        dialogue = dialogue_of(transcript) if transcript.id in ids else None
        if dialogue is None:
            continue
        turns = []
        for index, (side, text) in zip(dialogue.message_indices, dialogue.turns, strict=True):
            mark = turn_marks.get((transcript.id, index))
            turns.append(gold_set.GoldTurn(side, text, None if mark is None else mark.verdict == "on_task", "marked"))
        roles = [*dialogue.roles, "", ""]
        plays.append(gold_set.GoldPlay(transcript.id, "train", dialogue.task, roles[0], roles[1], turns))
    return plays


def labelled_plays(sources: Sequence[str]) -> list[gold_set.GoldPlay]:
    """The labelled role-plays of each source: ``gold`` (the shipped train split), a labelled JSONL file in the gold
    set's format, or a marks file of ``rolecall view --review`` (its turns' marks)."""
    plays: list[gold_set.GoldPlay] = []
    for source in sources:
        path = Path(source)
        if source == "gold":
            plays.extend(gold_set.split(gold_set.read(), "train"))
        elif path.is_file() and is_marks_file(path):
            plays.extend(marked_plays(path))
        elif path.is_file():
            plays.extend(gold_set.read(path))
        else:
            raise SpecError(f"judge train: {source} is neither 'gold', a labels file nor a marks file")
    if not plays:
        raise SpecError("judge train: the labels hold no role-play")
    return plays


def source_key(turn: gold_set.GoldTurn, done_token: str = DONE_TOKEN) -> str:
    """What the source-only judge knows of a turn: who wrote it, which side, and whether it ends the task."""
    kind = "done" if turn.side == "user" and done_token in turn.text else turn.side
    return f"{turn.source}/{kind}"


def source_baseline(train: Sequence[gold_set.GoldPlay], test: Sequence[gold_set.GoldPlay]) -> Agreement:
    """How well a judge does that knows only each turn's source and side (its commoner label in training)."""
    train_turns = [turn for play in train for turn in play.turns if turn.on_task is not None]
    test_turns = [turn for play in test for turn in play.turns if turn.on_task is not None]
    guesses = majority_by(
        [source_key(turn) for turn in test_turns],
        [source_key(turn) for turn in train_turns],
        [bool(turn.on_task) for turn in train_turns],
    )
    return Agreement.of([bool(turn.on_task) for turn in test_turns], guesses)


@dataclass(frozen=True)
class TrainingReport:
    plays: int
    turns: int
    l2: float
    cv_accuracy: float


def folds(groups: Sequence[str], count: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Each row's fold, whole groups (role-plays) to a fold."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[position]: rank % count for rank, position in enumerate(order)}
    return np.asarray([fold_of[group] for group in groups])


def cross_validated(features: np.ndarray, labels: np.ndarray, groups: Sequence[str], l2: float) -> float:
    """Accuracy of held-out folds, each predicted by a probe fitted on the others."""
    fold = folds(groups)
    right = 0
    for k in range(min(FOLDS, len(set(groups)))):
        held = fold == k
        if held.all() or not held.any():
            continue
        model = Logistic.fit(features[~held], labels[~held], l2=l2)
        right += int(((model.probability(features[held]) >= 0.5) == labels[held]).sum())
    return right / len(labels)


def fit(features: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> tuple[Logistic, float, float]:
    """The probe fitted on all rows with the penalty that cross-validates best; that penalty and its accuracy."""
    scored = [(cross_validated(features, labels, groups, l2), l2) for l2 in PENALTIES]
    accuracy, l2 = max(scored, key=lambda item: (item[0], item[1]))
    return Logistic.fit(features, labels, l2=l2), l2, accuracy


def labelled_features(
    plays: Sequence[gold_set.GoldPlay], *, url: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The feature rows, labels and role-play ids of every labelled non-done turn of ``plays``."""
    turns, labels, groups = [], [], []
    for play in plays:
        dialogue = play.dialogue()
        for turn, gold in zip(in_context(dialogue), play.turns, strict=True):
            if gold.on_task is None or is_done(turn, dialogue.done_token):
                continue
            turns.append(turn)
            labels.append(gold.on_task)
            groups.append(play.id)
    rows = asyncio.run(feature_rows(turns, url=url))
    return rows, np.asarray(labels, dtype=np.float64), groups


def train(plays: Sequence[gold_set.GoldPlay], out: Path, *, url: str | None = None) -> TrainingReport:
    """Fit the probe on ``plays`` and write its weights to ``out``."""
    features, labels, groups = labelled_features(plays, url=url)
    if len(set(labels.tolist())) < 2:
        raise SpecError("judge train: the labels must hold turns on task and turns off task")
    model, l2, accuracy = fit(features, labels, groups)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, gold=gold_set.VERSION, plays=len(set(groups)), turns=len(labels), l2=l2, cv_accuracy=accuracy)
    return TrainingReport(len(set(groups)), len(labels), l2, accuracy)
