"""A logistic regression in numpy: the offline judge's classifier, small enough to ship and refit anywhere.

Features are standardised by the training set's mean and spread, then fitted by Newton's
method with an L2 penalty (a few hundred features and a few thousand turns take well under a
second). The fitted model is plain numbers, written as JSON beside the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
Vector = NDArray[np.float64]


def _sigmoid(values: Vector) -> Vector:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -40, 40)))


@dataclass(frozen=True)
class Logistic:
    """P(on task) = sigmoid(w . (x - mean) / scale + b); on task when it reaches ``threshold``."""

    mean: Vector
    scale: Vector
    weights: Vector
    bias: float
    threshold: float = 0.5

    @classmethod
    def fit(cls, features: Matrix, labels: Vector, *, l2: float = 1.0, iterations: int = 50) -> Logistic:
        """Fit by Newton's method; ``l2`` is the penalty on the (standardised) weights."""
        if len(features) != len(labels) or not len(labels):
            raise ValueError(f"{len(features)} rows of features for {len(labels)} labels")
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale < 1e-9] = 1.0
        x = np.hstack([(features - mean) / scale, np.ones((len(features), 1))])
        y = labels.astype(np.float64)
        w = np.zeros(x.shape[1])
        penalty = np.full(x.shape[1], l2)
        penalty[-1] = 0.0  # the bias is not penalised
        for _ in range(iterations):
            p = _sigmoid(x @ w)
            gradient = x.T @ (p - y) + penalty * w
            hessian = (x.T * (p * (1 - p))) @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if float(np.abs(step).max()) < 1e-6:
                break
        return cls(mean, scale, w[:-1], float(w[-1]))

    def probability(self, features: Matrix) -> Vector:
        return _sigmoid(((features - self.mean) / self.scale) @ self.weights + self.bias)

    def with_threshold(self, threshold: float) -> Logistic:
        return Logistic(self.mean, self.scale, self.weights, self.bias, threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "weights": self.weights.round(6).tolist(),
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 4),
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Logistic:
        return cls(
            np.asarray(record["mean"], dtype=np.float64), np.asarray(record["scale"], dtype=np.float64),
            np.asarray(record["weights"], dtype=np.float64), float(record["bias"]), float(record["threshold"]),
        )  # fmt: skip

    def save(self, path: Path, **about: Any) -> None:
        path.write_text(json.dumps({**about, "model": self.to_dict()}), encoding="utf-8")
