"""How well a judge agrees with the gold labels: accuracy, precision, recall and Cohen's kappa for "on task".

``rolecall judge calibrate`` prints these on the gold set's test split, beside the score of a
judge that knows only a turn's source, so that a judge is never trusted for recognising who
wrote a turn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    """A judge's verdicts against labels; "positive" is on task."""

    turns: int
    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int

    @classmethod
    def of(cls, labels: Sequence[bool], verdicts: Sequence[bool]) -> Agreement:
        if len(labels) != len(verdicts):
            raise ValueError(f"{len(labels)} labels but {len(verdicts)} verdicts")
        pairs = Counter(zip(labels, verdicts, strict=True))
        return cls(len(labels), pairs[True, True], pairs[False, True], pairs[False, False], pairs[True, False])

    @property
    def accuracy(self) -> float:
        return (self.true_positive + self.true_negative) / self.turns if self.turns else 0.0

    @property
    def precision(self) -> float:
        called = self.true_positive + self.false_positive
        return self.true_positive / called if called else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positive + self.false_negative
        return self.true_positive / actual if actual else 0.0

    @property
    def kappa(self) -> float:
        """Cohen's kappa: agreement beyond what the two sides' rates of "on task" give by chance."""
        if not self.turns:
            return 0.0
        labels_on = (self.true_positive + self.false_negative) / self.turns
        verdicts_on = (self.true_positive + self.false_positive) / self.turns
        chance = labels_on * verdicts_on + (1 - labels_on) * (1 - verdicts_on)
        return (self.accuracy - chance) / (1 - chance) if chance < 1 else 1.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "turns": self.turns,
            "accuracy": round(self.accuracy, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "kappa": round(self.kappa, 4),
        }


def majority_by(keys: Sequence[str], train_keys: Sequence[str], train_labels: Sequence[bool]) -> list[bool]:
    """What a judge that knows only each turn's key (its source and side) says: the key's commoner label in
    the training turns (on task for a key it never saw, when most training turns are)."""
    seen: dict[str, Counter[bool]] = {}
    for key, label in zip(train_keys, train_labels, strict=True):
        seen.setdefault(key, Counter())[label] += 1
    overall = sum(train_labels) * 2 > len(train_labels)
    return [(seen[key][True] > seen[key][False]) if key in seen else overall for key in keys]
