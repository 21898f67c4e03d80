"""Holding a suite: every role-play against one model, on the batch runner, then scored.

The suite is a plan like a batch spec's (:class:`SuitePlan`), so an evaluation is held the
way a batch is: a few at a time, each conversation appended to ``conversations.jsonl`` the
moment it ends (a kill or a dead endpoint loses none), failed attempts in ``failures.jsonl``.
``eval.json`` then holds the settings, the model and the scorecard. Run again on the same
folder, it holds only the role-plays not yet held (failed ones again) and scores them all; a
folder holding another configuration is refused.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rolecall._secrets import write_text
from rolecall._version import __version__
from rolecall.batch import Batch, Budget, Job
from rolecall.dialogue import Conversation
from rolecall.errors import SpecError
from rolecall.evaluation.scoring import Scorecard, judge_slots
from rolecall.evaluation.suite import Suite
from rolecall.judges.base import Judge
from rolecall.models.base import ChatModel
from rolecall.settings import Settings
from rolecall.spec import RolePlaySpec
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript, conversation_id

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
        started = time.monotonic()
        runner = Batch(SuitePlan(self), self.out, model, concurrency=concurrency, on_saved=on_done, rerun_failed=True)
        await runner.run()
        card = await self.score(self.saved(), earlier_minutes + (time.monotonic() - started) / 60, judge)
        self.result = self.write(card, model.name)
        return card


class SuitePlan:
    """An evaluation's role-plays as a plan for the batch runner: one job per case, tried once per run."""

    kind = "eval"
    max_attempts = 1  # a failed role-play is saved as failed and scored so; a rerun holds it again
    budget = Budget()

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.by_id = {case_id(key): (key, spec) for key, spec in evaluation.specs.items()}

    def settings(self) -> Settings:
        return next(iter(self.evaluation.specs.values())).settings()

    async def jobs(self, model: ChatModel, out: Path, concurrency: int) -> list[Job]:
        return [
            Job(id, task=key[2], sample=0, assistant_role=key[0], user_role=key[1])
            for id, (key, _) in self.by_id.items()
        ]

    def build(self, job: Job, model: ChatModel) -> Conversation:
        return self.by_id[job.id][1].build(model, id=job.id)

    def record(self) -> dict[str, Any]:
        return self.evaluation.identity


def case_id(key: Key) -> str:
    """The id of a case's conversation: the one a role-play of those roles, task and seed takes."""
    assistant, user, task, seed = key
    return conversation_id(assistant, user, task.strip(), 0, seed)
