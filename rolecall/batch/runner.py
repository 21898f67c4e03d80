"""Running a plan: many conversations, concurrent, rate-limited, budgeted and resumable.

What is held comes from a :class:`~rolecall.batch.plan.Plan`: a batch spec's role pairs, tasks
and samples, or an evaluation suite's role-plays. The runner is the same for every plan.

Finished conversations are appended to ``conversations.jsonl`` as they finish (whole lines,
flock-protected); every failed attempt goes to ``failures.jsonl``, and a conversation that
fails ``max_attempts`` times is written to ``conversations.jsonl`` with ``status: "failed"``.
A rerun skips what is done and retries the rest; concurrency and limits can change between
runs freely. ``manifest.json`` records the spec, the version and the counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rolecall._secrets import write_text
from rolecall._version import __version__
from rolecall.batch.plan import BatchPlan, Plan
from rolecall.batch.spec import BatchSpec, Job
from rolecall.errors import BudgetExhausted, LocalModelError, SpecError
from rolecall.models.base import ChatModel
from rolecall.models.wrappers import Budgeted, Cached, RateLimited
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript

log = logging.getLogger(__name__)

CONVERSATIONS = "conversations.jsonl"
FAILURES = "failures.jsonl"
MANIFEST = "manifest.json"


def limited(model: ChatModel, spec: BatchSpec, *, cache: Path | None = None) -> ChatModel:
    """``model`` behind the spec's rate limits and, when asked, the replay cache."""
    if cache is not None:
        model = Cached(model, cache)
    if spec.rpm or spec.tpm:
        model = RateLimited(model, rpm=spec.rpm, tpm=spec.tpm)
    return model


@dataclass
class Progress:
    """Counts a batch reports as it runs (read by the CLI's progress bar)."""

    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    in_flight: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0  # None: a model without a price was called
    started: float = field(default_factory=time.monotonic)
    stopped: str | None = None

    @property
    def finished(self) -> int:
        return self.skipped + self.done + self.failed


@dataclass
class Finished:
    """Which ids earlier runs finished (with their status) and how often each failed, kept up to date."""

    statuses: dict[str, str]
    attempts: Counter[str]


def scan(out: Path) -> Finished:
    """What earlier runs in ``out`` finished and how often each id failed; each file is read once."""
    statuses: dict[str, str] = {}
    attempts: Counter[str] = Counter()
    if (out / CONVERSATIONS).exists():
        statuses = {transcript.id: transcript.status for transcript in store.read(out / CONVERSATIONS)}
    if (out / FAILURES).exists():
        attempts = Counter(transcript.id for transcript in store.read(out / FAILURES))
    return Finished(statuses, attempts)


class Batch:
    """Runs a plan (a batch spec, or any :class:`~rolecall.batch.plan.Plan`) against one model into a folder.

    A conversation that ends ``ok`` is done; one that fails is held again, up to the plan's
    ``max_attempts``, and then saved as failed: a rerun skips it, unless ``rerun_failed``.
    """

    def __init__(
        self,
        plan: BatchSpec | Plan,
        out: Path,
        model: ChatModel,
        *,
        concurrency: int = 8,
        on_change: Callable[[Progress], None] | None = None,
        on_saved: Callable[[Transcript], None] | None = None,
        spec_text: str | None = None,
        rerun_failed: bool = False,
    ) -> None:
        if concurrency < 1:
            raise SpecError("--concurrency must be at least 1")
        self.plan: Plan = BatchPlan(plan) if isinstance(plan, BatchSpec) else plan
        settings = self.plan.settings()
        settings.check_prices([model.name])
        budget = self.plan.budget
        if budget.cost_usd is not None:
            settings.price_table().require([model.name], budget="budget.cost_usd")
        self.out = out
        self.model = Budgeted(model, tokens=budget.tokens, cost_usd=budget.cost_usd, prices=settings.price_table())
        self.concurrency = concurrency
        self.on_change = on_change or (lambda progress: None)
        self.on_saved = on_saved or (lambda transcript: None)
        self.spec_text = spec_text
        self.rerun_failed = rerun_failed
        self.progress = Progress()

    async def jobs(self) -> list[Job]:
        """The whole plan (tasks generated and saved first when the spec asks for them)."""
        return await self.plan.jobs(self.model, self.out, self.concurrency)

    async def run(self, *, only: set[str] | None = None) -> Progress:
        """Hold every planned conversation not yet finished (or just those in ``only``)."""
        store.ensure_writable(self.out, self.plan.kind)
        jobs = await self.jobs()
        state = scan(self.out)
        if self.rerun_failed:  # a conversation saved as failed is held again, with a fresh count of attempts
            for job in jobs:
                if state.statuses.get(job.id) == "failed":
                    del state.statuses[job.id]
                    state.attempts[job.id] = 0
        self.write_manifest(jobs, state, finished=False)
        todo = [job for job in jobs if job.id not in state.statuses and (only is None or job.id in only)]
        self.progress.planned = len(jobs) if only is None else len(only)
        self.progress.skipped = self.progress.planned - len(todo)
        self.on_change(self.progress)
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in todo:
            queue.put_nowait(job)
        workers = [
            asyncio.create_task(self._worker(queue, state)) for _ in range(min(self.concurrency, len(todo)) or 1)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.write_manifest(jobs, state, finished=True)
        return self.progress

    async def _worker(self, queue: asyncio.Queue[Job], state: Finished) -> None:
        while not queue.empty() and self.progress.stopped is None:
            job = queue.get_nowait()
            self.progress.in_flight += 1
            self.on_change(self.progress)
            try:
                transcript = await self._converse(job)
            finally:
                self.progress.in_flight -= 1
            await self._settle(job, transcript, state, queue)
            self.on_change(self.progress)

    async def _converse(self, job: Job) -> Transcript:
        return await self.plan.build(job, self.model).arun()

    async def _settle(self, job: Job, transcript: Transcript, state: Finished, queue: asyncio.Queue[Job]) -> None:
        usage = transcript.usage
        self.progress.tokens += usage.prompt_tokens + usage.completion_tokens
        self.progress.cost_usd = self.model.meter.cost_usd
        if transcript.error is not None and transcript.error.type == BudgetExhausted.__name__:
            self.progress.stopped = "budget"  # unfinished: rerun with a larger budget to hold it
            return
        if transcript.error is not None and transcript.error.type == LocalModelError.__name__:
            await _save(self.out / FAILURES, transcript)  # the embedded server died: every later call would fail
            self.progress.stopped = "the embedded model server died"
            return
        if transcript.status == "ok":
            await _save(self.out / CONVERSATIONS, transcript)
            state.statuses[job.id] = "ok"
            self.progress.done += 1
            self.on_saved(transcript)
            return
        await _save(self.out / FAILURES, transcript)
        state.attempts[job.id] += 1
        if state.attempts[job.id] >= self.plan.max_attempts:
            await _save(self.out / CONVERSATIONS, transcript)
            state.statuses[job.id] = "failed"
            self.progress.failed += 1
            self.on_saved(transcript)
        else:
            self.progress.retried += 1
            queue.put_nowait(job)

    def write_manifest(self, jobs: Sequence[Job], state: Finished, *, finished: bool) -> None:
        """Record the spec, the version and the counts in ``manifest.json`` (replaced whole)."""
        planned = {job.id for job in jobs}
        finished_statuses = [status for id, status in state.statuses.items() if id in planned]
        ok, failed = finished_statuses.count("ok"), finished_statuses.count("failed")
        manifest = {
            "rolecall_version": __version__,
            "spec": self.plan.record(),
            "spec_text": self.spec_text,
            "counts": {
                "planned": len(jobs),
                "done": ok,
                "failed": failed,
                "remaining": len(planned - state.statuses.keys()),
                "failed_attempts": sum(state.attempts.values()),
            },
            "stopped": self.progress.stopped,
            "finished": finished,
        }
        tmp = self.out / f".{MANIFEST}.{os.getpid()}.tmp"
        write_text(tmp, json.dumps(manifest, indent=2) + "\n")
        tmp.replace(self.out / MANIFEST)


async def _save(path: Path, transcript: Transcript) -> None:
    """Append a finished conversation, fsync included, off the event loop (other calls go on)."""
    await asyncio.to_thread(store.append, path, transcript)


def summary(progress: Progress) -> str:
    elapsed = time.monotonic() - progress.started
    rate = progress.done / elapsed if elapsed > 0 else 0.0
    stopped = f"; stopped: {progress.stopped}" if progress.stopped else ""
    return (
        f"{progress.done} done, {progress.failed} failed, {progress.skipped} already done, {progress.retried} retried "
        f"of {progress.planned} planned in {elapsed:.1f}s ({rate:.2f} conversations/s, {progress.tokens:,} tokens, "
        f"{_dollars(progress.cost_usd)}){stopped}"
    )


def _dollars(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.4f}"
