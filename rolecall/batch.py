"""Batches: many role-plays from one spec, concurrent, rate-limited, budgeted and resumable.

The plan is every (assistant role, user role, task, sample); each conversation's id is a
hash of those and the seed, so reruns find what is done. Finished conversations are
appended to ``conversations.jsonl`` as they finish (whole lines, flock-protected); every
failed attempt goes to ``failures.jsonl``, and a conversation that fails ``max_attempts``
times is written to ``conversations.jsonl`` with ``status: "failed"``. A rerun skips what
is done and retries the rest; concurrency and limits can change between runs freely.
``manifest.json`` records the spec, the version and the counts.
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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rolecall._version import __version__
from rolecall.agents.base import Agent, Said
from rolecall.agents.roleplay_agents import DONE_TOKEN, Assist
from rolecall.agents.templates import prompt
from rolecall.errors import SpecError
from rolecall.guards import GuardSettings
from rolecall.limits import MAX_BATCH_CONVERSATIONS, MAX_COST_USD, MAX_SEED, MAX_TOKENS, MAX_TURNS
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.models.wrappers import Budgeted, BudgetExhausted
from rolecall.pricing import Price, PriceTable
from rolecall.roleplay import RolePlay
from rolecall.secrets import clean, write_text
from rolecall.spec import describe_validation_error, read_yaml
from rolecall.transcripts import store
from rolecall.transcripts.record import Transcript, conversation_id

log = logging.getLogger(__name__)

CONVERSATIONS = "conversations.jsonl"
FAILURES = "failures.jsonl"
TASKS = "tasks.jsonl"
MANIFEST = "manifest.json"
#: A file of roles holds one role per line; more than this is not a list of roles.
MAX_ROLE_FILE_BYTES = 4 << 20


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    cost_usd: float | None = Field(default=None, gt=0, le=MAX_COST_USD)


class BatchSpec(BaseModel):
    """The spec of ``rolecall batch``: role lists, tasks, samples, limits."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    assistant_roles: list[str] | str
    user_roles: list[str] | str
    tasks: list[str] | None = None
    tasks_per_pair: int | None = Field(default=None, gt=0, le=100)
    samples: int = Field(default=1, gt=0, le=100_000)
    max_turns: int = Field(default=10, gt=0, le=MAX_TURNS)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    model: str | None = None
    base_url: str | None = None
    params: GenerationParams = Field(default_factory=GenerationParams)
    guards: GuardSettings = Field(default_factory=GuardSettings)
    assist: Assist = Field(default_factory=Assist)
    done_token: str = Field(default=DONE_TOKEN, min_length=1)
    token_budget: int | None = Field(default=None, gt=0, le=MAX_TOKENS, description="per conversation")
    budget: Budget = Field(default_factory=Budget)
    prices: dict[str, Price] = Field(default_factory=dict)
    rpm: float | None = Field(default=None, gt=0, le=1e9)
    tpm: float | None = Field(default=None, gt=0, le=1e12)
    max_attempts: int = Field(default=3, gt=0, le=100)

    @field_validator("tasks")
    @classmethod
    def _tasks_not_blank(cls, tasks: list[str] | None) -> list[str] | None:
        if tasks is not None:
            if not tasks:
                raise ValueError("give at least one task")
            if any(not task.strip() for task in tasks):
                raise ValueError("a task is blank")
        return tasks

    @model_validator(mode="after")
    def _one_source_of_tasks(self) -> BatchSpec:
        if (self.tasks is None) == (self.tasks_per_pair is None):
            raise ValueError("give either tasks or tasks_per_pair, not both and not neither")
        return self


@dataclass(frozen=True)
class Job:
    """One planned conversation."""

    id: str
    assistant_role: str
    user_role: str
    task: str
    sample: int

    @property
    def sampling_seed(self) -> int:
        return int(self.id[:8], 16)


def load_batch_spec(path: str | Path) -> tuple[BatchSpec, list[str], list[str]]:
    """The spec and its resolved role lists; every problem is a one-line ``SpecError``."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields")
    try:
        spec = BatchSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: {describe_validation_error(exc)}") from None
    assistants = _roles(spec.assistant_roles, "assistant_roles", path.parent)
    users = _roles(spec.user_roles, "user_roles", path.parent)
    planned = len(assistants) * len(users) * len(spec.tasks or [None] * (spec.tasks_per_pair or 1)) * spec.samples
    if planned > MAX_BATCH_CONVERSATIONS:
        raise SpecError(f"{path}: plans {planned:,} conversations; at most {MAX_BATCH_CONVERSATIONS:,} per batch")
    return spec, assistants, users


def _roles(value: list[str] | str, field_name: str, base: Path) -> list[str]:
    if isinstance(value, str):
        file = base / value
        try:
            with file.open("rb") as handle:
                raw = handle.read(MAX_ROLE_FILE_BYTES + 1)
            if len(raw) > MAX_ROLE_FILE_BYTES:
                raise SpecError(f"{field_name}: {file} is larger than {MAX_ROLE_FILE_BYTES >> 20} MiB")
            value = [line.strip() for line in raw.decode("utf-8").splitlines()]
        except (OSError, ValueError) as exc:
            raise SpecError(f"{field_name}: cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"{field_name}: {file} is not UTF-8 text (byte {exc.start})") from None
    roles = [role.strip() for role in value if role.strip()]
    if not roles:
        raise SpecError(f"{field_name}: the list of roles is empty")
    if len(set(roles)) != len(roles):
        raise SpecError(f"{field_name}: a role is listed twice")
    return roles


def plan(
    spec: BatchSpec, assistants: Sequence[str], users: Sequence[str], tasks: dict[tuple[str, str], list[str]]
) -> list[Job]:
    """Every conversation the batch must hold, in a stable order."""
    jobs = []
    for assistant in assistants:
        for user in users:
            for task in tasks[(assistant, user)]:
                for sample in range(spec.samples):
                    job_id = conversation_id(assistant, user, task, sample, spec.seed)
                    jobs.append(Job(job_id, assistant, user, task, sample))
    return jobs


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
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    stopped: str | None = None

    @property
    def finished(self) -> int:
        return self.skipped + self.done + self.failed


@dataclass
class _State:
    """Which ids are finished (with their status) and how often each failed: kept up to date in memory."""

    statuses: dict[str, str]
    attempts: Counter[str]


def _scan(out: Path) -> _State:
    """What earlier runs finished and how often each id failed; each file is read once."""
    statuses: dict[str, str] = {}
    attempts: Counter[str] = Counter()
    if (out / CONVERSATIONS).exists():
        statuses = {transcript.id: transcript.status for transcript in store.read(out / CONVERSATIONS)}
    if (out / FAILURES).exists():
        attempts = Counter(transcript.id for transcript in store.read(out / FAILURES))
    return _State(statuses, attempts)


class Batch:
    """Runs a planned batch against one model (wrapped for limits) into a folder."""

    def __init__(
        self,
        spec: BatchSpec,
        assistants: Sequence[str],
        users: Sequence[str],
        out: Path,
        model: ChatModel,
        *,
        concurrency: int = 8,
        on_change: Callable[[Progress], None] | None = None,
        spec_text: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise SpecError("--concurrency must be at least 1")
        self.spec = spec
        self.assistants = list(assistants)
        self.users = list(users)
        self.out = out
        self.prices = PriceTable(spec.prices)
        self.model = Budgeted(model, tokens=spec.budget.tokens, cost_usd=spec.budget.cost_usd, prices=self.prices)
        self.concurrency = concurrency
        self.on_change = on_change or (lambda progress: None)
        self.spec_text = spec_text
        self.progress = Progress()

    async def run(self, *, only: set[str] | None = None) -> Progress:
        """Hold every planned conversation not yet finished (or just those in ``only``)."""
        store.ensure_writable(self.out, "batch")
        tasks = await self._tasks()
        jobs = plan(self.spec, self.assistants, self.users, tasks)
        state = _scan(self.out)
        self._write_manifest(jobs, state, finished=False)
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
            self._write_manifest(jobs, state, finished=True)
        return self.progress

    async def _worker(self, queue: asyncio.Queue[Job], state: _State) -> None:
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
        roleplay = RolePlay(
            job.task,
            assistant_role=job.assistant_role,
            user_role=job.user_role,
            model=self.model,
            max_turns=self.spec.max_turns,
            token_budget=self.spec.token_budget,
            seed=job.sampling_seed,
            params=self.spec.params,
            guards=self.spec.guards,
            assist=self.spec.assist,
            done_token=self.spec.done_token,
            prices=self.prices,
            id=job.id,
        )
        return await roleplay.arun()

    async def _settle(self, job: Job, transcript: Transcript, state: _State, queue: asyncio.Queue[Job]) -> None:
        usage = transcript.usage
        self.progress.tokens += usage.prompt_tokens + usage.completion_tokens
        self.progress.cost_usd = self.model.cost
        if transcript.error is not None and transcript.error.type == BudgetExhausted.__name__:
            self.progress.stopped = "budget"  # unfinished: rerun with a larger budget to hold it
            return
        if transcript.status == "ok":
            await _save(self.out / CONVERSATIONS, transcript)
            state.statuses[job.id] = "ok"
            self.progress.done += 1
            return
        await _save(self.out / FAILURES, transcript)
        state.attempts[job.id] += 1
        if state.attempts[job.id] >= self.spec.max_attempts:
            await _save(self.out / CONVERSATIONS, transcript)
            state.statuses[job.id] = "failed"
            self.progress.failed += 1
        else:
            self.progress.retried += 1
            queue.put_nowait(job)

    async def _tasks(self) -> dict[tuple[str, str], list[str]]:
        pairs = [(assistant, user) for assistant in self.assistants for user in self.users]
        if self.spec.tasks is not None:
            return {pair: list(self.spec.tasks) for pair in pairs}
        path = self.out / TASKS
        saved: dict[tuple[str, str], list[str]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    saved[(record["assistant_role"], record["user_role"])] = record["tasks"]
        missing = [pair for pair in pairs if pair not in saved]
        semaphore = asyncio.Semaphore(self.concurrency)

        async def generate(pair: tuple[str, str]) -> None:
            async with semaphore:
                tasks = await generate_tasks(
                    self.model, pair[0], pair[1], self.spec.tasks_per_pair or 1, self.spec.seed
                )
            saved[pair] = tasks
            with path.open("a", encoding="utf-8") as handle:
                record = {"assistant_role": pair[0], "user_role": pair[1], "tasks": tasks}
                handle.write(clean(json.dumps(record)) + "\n")

        await asyncio.gather(*(generate(pair) for pair in missing))
        return saved

    def _write_manifest(self, jobs: Sequence[Job], state: _State, *, finished: bool) -> None:
        planned = {job.id for job in jobs}
        finished_statuses = [status for id, status in state.statuses.items() if id in planned]
        ok, failed = finished_statuses.count("ok"), finished_statuses.count("failed")
        manifest = {
            "rolecall_version": __version__,
            "spec": self.spec.model_dump(mode="json"),
            "spec_text": self.spec_text,
            "assistant_roles": self.assistants,
            "user_roles": self.users,
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


async def generate_tasks(model: ChatModel, assistant: str, user: str, count: int, seed: int) -> list[str]:
    """``count`` tasks for a role pair from a task-generator agent (JSON under a schema)."""
    schema = {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"type": "string"}, "minItems": count, "maxItems": count}},
        "required": ["tasks"],
    }
    generator = Agent(
        "Task Generator",
        model=model,
        template="You write short, concrete tasks for role-play conversations. You answer with JSON only.",
        params=GenerationParams(json_schema=schema, temperature=0.8, max_tokens=60 * count + 40, seed=seed),
    )
    request = prompt("task_generator", {"count": count, "assistant_role": assistant, "user_role": user})
    for _ in range(3):
        text = (await generator.step([Said("rolecall", request)])).text
        try:
            tasks = [str(task).strip() for task in json.loads(text[text.find("{") : text.rfind("}") + 1])["tasks"]]
        except (ValueError, KeyError, TypeError):
            continue
        tasks = [task for task in dict.fromkeys(tasks) if task][:count]
        if tasks:
            return tasks
    return [f"Help a {user} with a task that needs a {assistant}"]


def summary(progress: Progress) -> str:
    elapsed = time.monotonic() - progress.started
    rate = progress.done / elapsed if elapsed > 0 else 0.0
    stopped = f"; stopped: {progress.stopped}" if progress.stopped else ""
    return (
        f"{progress.done} done, {progress.failed} failed, {progress.skipped} already done, {progress.retried} retried "
        f"of {progress.planned} planned in {elapsed:.1f}s ({rate:.2f} conversations/s, {progress.tokens:,} tokens, "
        f"${progress.cost_usd:.4f}){stopped}"
    )
