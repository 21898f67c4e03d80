"""The probe judge: the embedded model's hidden states over a turn, read by a classifier fitted to labels.

SmolLM2-135M writes poorly, but it reads well enough to tell what a text is about. The probe
runs it in embedding mode (:mod:`rolecall.judges.features`) and a logistic regression
(:mod:`rolecall.judges.logistic`), fitted on the gold set's train split, turns the states into
P(on task). Its weights ship as package data (``probe.json``); ``rolecall judge train`` refits
them from the gold set, from per-turn marks made in ``rolecall view --review``, or both.

It needs no endpoint and sends nothing anywhere: it starts its own llama.cpp server on loopback
(or reads one given by URL) for as long as it is open.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from rolecall.errors import SpecError
from rolecall.judges.base import Judge, TurnInContext, Verdict, register_judge
from rolecall.judges.features import HiddenStates, TokenEmbeddings
from rolecall.judges.lexical import word_count_reason
from rolecall.judges.logistic import Logistic
from rolecall.models.local import LocalServer, model_file

#: Tokens of the longest text the probe reads (its context, then the turn).
N_CTX = 1024


def shipped_weights() -> Path:
    """The weights fitted on the gold set's train split, shipped with rolecall."""
    return Path(str(files("rolecall.judges") / "probe.json"))


def user_weights_file() -> Path:
    """Where ``rolecall judge train`` writes, and the probe looks first: ``$ROLECALL_PROBE_WEIGHTS``, else
    ``$XDG_DATA_HOME/rolecall/probe.json``."""
    chosen = os.environ.get("ROLECALL_PROBE_WEIGHTS")
    if chosen:
        return Path(chosen)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "rolecall" / "probe.json"


def weights_file() -> Path:
    """The weights the probe reads: the user's refitted ones when there are any, else the shipped ones."""
    own = user_weights_file()
    return own if own.is_file() else shipped_weights()


def load(path: Path | None = None) -> tuple[Logistic, dict[str, Any]]:
    """The fitted classifier of ``path`` (default: :func:`weights_file`) and what it says about its fitting."""
    source = path or weights_file()
    try:
        record = json.loads(source.read_text(encoding="utf-8"))
        return Logistic.from_dict(record["model"]), {key: value for key, value in record.items() if key != "model"}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"cannot read the probe's weights {source}: {exc}") from None


@register_judge
class ProbeJudge(Judge):
    """The embedded model's hidden states over each turn in its context, read by a classifier fitted to the
    gold set (offline, no endpoint)."""

    name = "probe"

    def __init__(self, *, weights: Path | None = None, url: str | None = None, concurrency: int = 2) -> None:
        self.classifier, self.about = load(weights)
        self.url = url
        self.concurrency = concurrency
        self._server: LocalServer | None = None
        self._states: HiddenStates | None = None

    def reader(self) -> HiddenStates:
        """The model's states, its server started on first use (a harvest that judges nothing starts nothing)."""
        if self._states is None:
            url = self.url
            if url is None:
                self._server = LocalServer(pooling="none", slots=self.concurrency, n_ctx=N_CTX)
                self._server.start()
                url = self._server.base_url
            self._states = HiddenStates(url, embeddings=embeddings(), concurrency=self.concurrency)
        return self._states

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server this judge started, if any; the next verdict starts it again."""
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._states = None

    async def verdicts(self, turns: Sequence[TurnInContext]) -> list[Verdict]:
        rows = await self.reader().matrix(turns)
        chances = self.classifier.probability(rows) if len(rows) else np.zeros(0)
        return [self._verdict(turn, float(chance)) for turn, chance in zip(turns, chances, strict=True)]

    def _verdict(self, turn: TurnInContext, chance: float) -> Verdict:
        on_task = chance >= self.classifier.threshold
        reason = None
        if not on_task:  # name what the words show when they show it; else it is the meaning
            reason = word_count_reason(turn) or "off_meaning"
        return self.verdict(on_task, chance, reason)


_EMBEDDINGS: list[TokenEmbeddings] = []


def embeddings() -> TokenEmbeddings:
    """The embedded model's output embeddings, read once per process (about 110 MB as float32)."""
    if not _EMBEDDINGS:
        _EMBEDDINGS.append(TokenEmbeddings.of(model_file()))
    return _EMBEDDINGS[0]


async def feature_rows(turns: Sequence[TurnInContext], *, url: str | None = None) -> np.ndarray[Any, Any]:
    """The probe's feature rows for ``turns`` (starting the embedded model unless ``url`` serves it already)."""
    if url is not None:
        return await HiddenStates(url, embeddings=embeddings()).matrix(turns)
    with LocalServer(pooling="none", slots=2, n_ctx=N_CTX) as server:
        return await HiddenStates(server.base_url, embeddings=embeddings()).matrix(turns)
