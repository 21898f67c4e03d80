"""What a runner holds: the planned conversations, how each is built, and what may be spent on them.

The batch runner (:mod:`rolecall.batch.runner`) knows nothing of where its conversations come
from: a :class:`Plan` gives it the jobs, builds each one's conversation, and says how often a
failed one is tried and what the whole run may spend. A batch spec is one plan
(:class:`BatchPlan`); an evaluation suite is another (:mod:`rolecall.evaluation.runner`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from rolecall.batch.spec import BatchSpec, Budget, Job, plan
from rolecall.batch.tasks import generate_tasks, read_saved, save
from rolecall.dialogue import Conversation
from rolecall.models.base import ChatModel
from rolecall.settings import Settings

#: Where a batch keeps the tasks it made up, so a rerun plans the same conversations.
TASKS = "tasks.jsonl"


class Plan(Protocol):
    """The conversations one run holds."""

    #: What the run is, in errors about its folder ("batch", "eval").
    kind: str
    #: How often a conversation that failed is held before it is saved as failed.
    max_attempts: int
    #: What the whole run may spend.
    budget: Budget

    def settings(self) -> Settings:
        """The settings every conversation shares (their prices are checked before anything runs)."""
        ...

    async def jobs(self, model: ChatModel, out: Path, concurrency: int) -> list[Job]:
        """Every planned conversation, in a stable order (made-up tasks are saved in ``out`` first)."""
        ...

    def build(self, job: Job, model: ChatModel) -> Conversation:
        """The conversation of ``job``, talking to ``model``."""
        ...

    def record(self) -> dict[str, Any]:
        """What ``manifest.json`` says the run is."""
        ...


class BatchPlan:
    """A batch spec as a plan: role pairs x tasks x samples, each built as ``rolecall run`` builds one."""

    kind = "batch"

    def __init__(self, spec: BatchSpec) -> None:
        self.spec = spec
        self.template = spec.template()
        self.max_attempts = spec.max_attempts
        self.budget = spec.budget

    def settings(self) -> Settings:
        return self.template.settings()

    async def jobs(self, model: ChatModel, out: Path, concurrency: int) -> list[Job]:
        return plan(self.spec, await self._tasks(model, out, concurrency) if not self.spec.society else None)

    def build(self, job: Job, model: ChatModel) -> Conversation:
        return self.spec.spec_for(job, self.template).build(model, id=job.id, sample=job.sample)

    def record(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json")

    async def _tasks(self, model: ChatModel, out: Path, concurrency: int) -> dict[tuple[str, str], list[str]]:
        """The tasks of each role pair: the spec's, or made up once per pair and saved."""
        pairs = self.spec.pairs()
        if self.spec.tasks is not None:
            return {pair: list(self.spec.tasks) for pair in pairs}
        path = out / TASKS
        saved = read_saved(path)
        semaphore = asyncio.Semaphore(concurrency)

        async def generate(pair: tuple[str, str]) -> None:
            async with semaphore:
                tasks = await generate_tasks(model, pair[0], pair[1], self.spec.tasks_per_pair or 1, self.spec.seed)
            saved[pair] = tasks
            save(path, pair, tasks)

        await asyncio.gather(*(generate(pair) for pair in pairs if pair not in saved))
        return saved
