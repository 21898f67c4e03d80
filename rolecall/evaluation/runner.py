"""Holding a suite: every role-play against one model, a few at a time, each saved the moment it ends.

An evaluation lives in a folder: ``conversations.jsonl`` (the transcripts, appended as they
finish, so a kill or a dead endpoint loses none) and ``eval.json`` (the settings, the model
and the scorecard). Run again on the same folder, it holds only the role-plays not yet held
(failed ones again) and scores them all; a folder holding another configuration is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rolecall._secrets import write_text
from rolecall._version import __version__
from rolecall.errors import SpecError
from rolecall.evaluation.scoring import Scorecard, judge_slots
from rolecall.evaluation.suite import Suite
from rolecall.judges.base import Judge
from rolecall.models.base import ChatModel
from rolecall.settings import Settings
from rolecall.spec import RolePlaySpec
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript

CONVERSATIONS = "conversations.jsonl"
RESULT = "eval.json"
Key = tuple[str, str, str, int]


def eval_label(settings: Settings) -> str:
    """A short name for what a configuration turns on, e.g. ``guards+json``."""
    parts = ["guards" if settings.guards.enabled else "no-guards"]
    assist = settings.assist
    aids = (("json", assist.json_turns), ("few-shot", assist.few_shot), ("no-stops", not assist.stops))
    parts += [name for name, on in (*aids, ("plan", settings.plan)) if on]
    if settings.critic is not None:
        parts.append(f"critic-{settings.critic.mode}")
    return "+".join(parts)


def case_key(transcript: Transcript) -> Key | None:
    """Which role-play of a suite ``transcript`` held: (assistant role, user role, task, seed)."""
    roles = {agent.kind: agent.role for agent in transcript.agents}
    if "assistant" not in roles or "user" not in roles or transcript.seed is None:
        return None
    return (roles["assistant"], roles["user"], transcript.task.original, transcript.seed)


@dataclass
class Evaluation:
    """A suite held under one configuration, into one folder."""

    suite: Suite
    overrides: dict[str, Any]
    out: Path
    label: str = "default"

    def __post_init__(self) -> None:
        #: What ``eval.json`` holds once :meth:`hold` has scored the suite.
        self.result: dict[str, Any] = {}
        self.specs: dict[Key, RolePlaySpec] = {
            case.key: self.suite.spec_for(case, self.overrides) for case in self.suite.roleplays
        }

    @property
    def identity(self) -> dict[str, Any]:
        """What must match for two runs into one folder to be one evaluation."""
        return {"suite": self.suite.label, "settings": self.suite.settings_with(self.overrides)}

    def saved(self) -> dict[Key, Transcript]:
        """The latest transcript of each role-play of the suite already in the folder."""
        path = self.out / CONVERSATIONS
        found: dict[Key, Transcript] = {}
        if path.exists():
            for transcript in store.read(path):
                key = case_key(transcript)
                if key in self.specs:
                    found[key] = transcript  # a later attempt replaces an earlier one
        return found

    def check_folder(self, model: str) -> float:
        """Refuse a folder holding another configuration; the minutes earlier runs into it took."""
        path = self.out / RESULT
        if not path.exists():
            return 0.0
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(f"{path}: cannot read the earlier evaluation: {exc}") from None
        identity = {"suite": earlier.get("suite"), "settings": earlier.get("settings")}
        if identity != json.loads(json.dumps(self.identity)) or earlier.get("model") != model:
            raise SpecError(f"{self.out}: holds an evaluation of other settings or another model; give another --out")
        return float(earlier.get("scorecard", {}).get("minutes", 0.0))

    async def score(self, transcripts: dict[Key, Transcript], minutes: float, judge: Judge) -> Scorecard:
        """The scorecard of the suite's transcripts, every turn of them read by ``judge``."""
        card = Scorecard(self.label, minutes=minutes, judge=judge.name)
        held = [(transcripts[key], spec) for key, spec in self.specs.items() if key in transcripts]
        slots = await judge_slots([transcript for transcript, _ in held], judge)
        for (transcript, spec), its in zip(held, slots, strict=True):
            card.add(transcript, spec.settings().max_turns, its)
        return card

    def write(self, card: Scorecard, model: str) -> dict[str, Any]:
        """Save ``eval.json`` (replaced whole) and return what it holds."""
        result = {
            **self.identity, "label": self.label, "model": model, "rolecall_version": __version__,
            "roleplays": len(self.specs), "judge": card.judge, "scorecard": card.to_dict(),
        }  # fmt: skip
        tmp = self.out / f".{RESULT}.{os.getpid()}.tmp"
        write_text(tmp, json.dumps(result, indent=2) + "\n")
        tmp.replace(self.out / RESULT)
        return result

    async def hold(
        self,
        model: ChatModel,
        judge: Judge,
        *,
        concurrency: int = 2,
        on_done: Callable[[Transcript], None] | None = None,
    ) -> Scorecard:
        """Hold every role-play not yet held (or failed), saving each as it ends, then score the suite by ``judge``."""
        if concurrency < 1:
            raise SpecError("--concurrency must be at least 1")
        store.ensure_writable(self.out, "eval")
        earlier_minutes = self.check_folder(model.name)
        done = {key: transcript for key, transcript in self.saved().items() if transcript.status == "ok"}
        todo = [(key, spec) for key, spec in self.specs.items() if key not in done]
        started = time.monotonic()
        semaphore = asyncio.Semaphore(concurrency)

        async def one(key: Key, spec: RolePlaySpec) -> None:
            async with semaphore:
                transcript = await spec.build(model).arun()
            await asyncio.to_thread(store.append, self.out / CONVERSATIONS, transcript)
            done[key] = transcript
            if on_done is not None:
                on_done(transcript)

        await asyncio.gather(*(one(key, spec) for key, spec in todo))
        card = await self.score(self.saved(), earlier_minutes + (time.monotonic() - started) / 60, judge)
        self.result = self.write(card, model.name)
        return card
