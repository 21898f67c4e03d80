"""The batch spec: a run spec crossed with role lists, tasks and samples, and the plan it makes.

Everything a run spec may say (limits, params, guards, assist, critic, subtasks, a society's
``agents:``) is said once at the top level of a batch spec and applies to every
conversation; the batch's own keys say what varies (``assistant_roles`` x ``user_roles`` x
``tasks`` x ``samples``) and what the whole batch may spend. Each planned conversation
becomes a run spec (:meth:`BatchSpec.spec_for`) and is built the way ``rolecall run`` builds
one. Its id is a hash of what defines it and the batch seed, so reruns find what is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from rolecall._checked import describe_validation_error
from rolecall._limits import MAX_BATCH_CONVERSATIONS, MAX_COST_USD, MAX_TOKENS
from rolecall.dialogue import society_id
from rolecall.errors import SpecError
from rolecall.spec import AgentSpec, RolePlaySpec, SocietySpec, Spec, parse_spec, read_yaml
from rolecall.transcripts.record import conversation_id

#: A file of roles holds one role per line; more than this is not a list of roles.
MAX_ROLE_FILE_BYTES = 4 << 20
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
_PLACEHOLDER_TASK = "the batch's task"


class Budget(BaseModel):
    """What the whole batch may spend, over all its conversations."""

    model_config = _STRICT

    tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    cost_usd: float | None = Field(default=None, gt=0, le=MAX_COST_USD)


@dataclass(frozen=True)
class Job:
    """One planned conversation (a society's has no roles: its members are the spec's)."""

    id: str
    task: str
    sample: int
    assistant_role: str | None = None
    user_role: str | None = None

    @property
    def sampling_seed(self) -> int:
        return int(self.id[:8], 16)


class BatchSpec(BaseModel):
    """The spec of ``rolecall batch``: what varies, what the batch may spend, and the run spec (``base``)."""

    model_config = _STRICT

    assistant_roles: list[str] | str | None = None
    user_roles: list[str] | str | None = None
    #: Tools of every assistant (executor) and every user (instructor) of a role-play batch.
    assistant_tools: list[str | dict[str, Any]] = Field(default_factory=list, max_length=64)
    user_tools: list[str | dict[str, Any]] = Field(default_factory=list, max_length=64)
    tasks: list[str] | None = Field(default=None, max_length=100_000)
    tasks_per_pair: int | None = Field(default=None, gt=0, le=100)
    samples: int = Field(default=1, gt=0, le=100_000)
    budget: Budget = Field(default_factory=Budget)
    rpm: float | None = Field(default=None, gt=0, le=1e9)
    tpm: float | None = Field(default=None, gt=0, le=1e12)
    max_attempts: int = Field(default=3, gt=0, le=100)
    #: Every other key: a run spec's fields, shared by all conversations of the batch.
    base: dict[str, Any] = Field(default_factory=dict)
    _template: Spec | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _gather_run_spec(cls, data: Any) -> Any:
        """Keys that are not the batch's own are the run spec every conversation starts from."""
        if not isinstance(data, Mapping) or "base" in data:
            return data
        own = {key: value for key, value in data.items() if key in cls.model_fields}
        return own | {"base": {key: value for key, value in data.items() if key not in cls.model_fields}}

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
    def _one_shape(self) -> BatchSpec:
        if (self.tasks is None) == (self.tasks_per_pair is None):
            raise ValueError("give either tasks or tasks_per_pair, not both and not neither")
        for key in ("task", "assistant", "user"):
            if key in self.base:
                plural = {"task": "tasks", "assistant": "assistant_roles", "user": "user_roles"}[key]
                raise ValueError(f"{key}: a batch varies it: give {plural}")
        if self.society:
            given = [key for key in ("assistant_roles", "user_roles", "tasks_per_pair") if getattr(self, key)]
            if given:
                raise ValueError(f"{given[0]}: a society batch has its members in agents:; give tasks")
        elif self.assistant_roles is None or self.user_roles is None:
            raise ValueError("a role-play batch needs assistant_roles and user_roles (or agents: for a society)")
        return self

    @property
    def society(self) -> bool:
        return "agents" in self.base

    @property
    def seed(self) -> int:
        """The batch seed: part of every conversation's id (each one samples with a seed derived from its id)."""
        seed = self.base.get("seed")
        return seed if isinstance(seed, int) else 0

    def template(self) -> Spec:
        """The run spec with placeholder task and roles: the shared fields, validated once (and kept)."""
        if self._template is None:
            data = dict(self.base) | {"task": (self.tasks or [_PLACEHOLDER_TASK])[0]}
            if not self.society:
                data |= {"assistant": {"role": self.roles("assistant")[0]}, "user": {"role": self.roles("user")[0]}}
            self._template = parse_spec(data, source="batch spec")
        return self._template

    def roles(self, side: str) -> list[str]:
        """The resolved role list of ``side`` ("assistant" or "user"); files are read by :func:`load_batch_spec`."""
        value = self.assistant_roles if side == "assistant" else self.user_roles
        if not isinstance(value, list):
            raise SpecError(f"{side}_roles: not resolved to a list (load the spec with load_batch_spec)")
        return value

    def spec_for(self, job: Job, template: Spec | None = None) -> Spec:
        """The run spec of one planned conversation, seeded by its id.

        Only what varies is set, each value checked where it came from (the tasks by this spec,
        the roles as their ``AgentSpec`` is made, the seed from the id); the shared fields were
        validated once, in :meth:`template`.
        """
        template = template or self.template()
        update: dict[str, Any] = {"task": job.task, "seed": job.sampling_seed}
        if isinstance(template, RolePlaySpec):
            update |= {
                "assistant": AgentSpec(role=job.assistant_role or "", tools=self.assistant_tools),
                "user": AgentSpec(role=job.user_role or "", tools=self.user_tools),
            }
        return template.model_copy(update=update)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (assistant role, user role) of a role-play batch."""
        return [(assistant, user) for assistant in self.roles("assistant") for user in self.roles("user")]

    def planned_count(self) -> int:
        per_pair = len(self.tasks) if self.tasks is not None else self.tasks_per_pair or 1
        pairs = 1 if self.society else len(self.pairs())
        return pairs * per_pair * self.samples


def plan(spec: BatchSpec, tasks: Mapping[tuple[str, str], Sequence[str]] | None = None) -> list[Job]:
    """Every conversation the batch must hold, in a stable order (``tasks`` per role pair when generated)."""
    jobs = []
    if spec.society:
        names = [str(member.name) for member in _society(spec).agents]
        for task in spec.tasks or []:
            for sample in range(spec.samples):
                jobs.append(Job(society_id(names, task, sample, spec.seed), task.strip(), sample))
        return jobs
    for assistant, user in spec.pairs():
        pair_tasks = tasks[(assistant, user)] if tasks is not None else spec.tasks or []
        for task in pair_tasks:
            for sample in range(spec.samples):
                job_id = conversation_id(assistant, user, task, sample, spec.seed)
                jobs.append(Job(job_id, task, sample, assistant, user))
    return jobs


def _society(spec: BatchSpec) -> SocietySpec:
    template = spec.template()
    if not isinstance(template, SocietySpec):
        raise SpecError("agents: a society batch needs a society spec")
    return template


def load_batch_spec(path: str | Path) -> BatchSpec:
    """The spec with its role lists resolved (files read); every problem is a one-line ``SpecError``."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields")
    try:
        spec = BatchSpec.model_validate(data)
        if not spec.society:
            spec.assistant_roles = _roles(spec.assistant_roles, "assistant_roles", path.parent)
            spec.user_roles = _roles(spec.user_roles, "user_roles", path.parent)
        spec.template()
    except ValidationError as exc:
        raise SpecError(f"{path}: {describe_validation_error(exc)}") from None
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    planned = spec.planned_count()
    if planned > MAX_BATCH_CONVERSATIONS:
        raise SpecError(f"{path}: plans {planned:,} conversations; at most {MAX_BATCH_CONVERSATIONS:,} per batch")
    return spec


def _roles(value: list[str] | str | None, field_name: str, base: Path) -> list[str]:
    if isinstance(value, str):
        file = base / value
        try:
            with file.open("rb") as handle:
                raw = handle.read(MAX_ROLE_FILE_BYTES + 1)
            if len(raw) > MAX_ROLE_FILE_BYTES:
                raise SpecError(f"{field_name}: {file} is larger than {MAX_ROLE_FILE_BYTES >> 20} MiB")
            value = [line.strip() for line in raw.decode("utf-8").splitlines()]
        except (OSError, ValueError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else getattr(exc, "strerror", None) or exc
            raise SpecError(f"{field_name}: cannot read {file}: {reason}") from None
    roles = [role.strip() for role in value or [] if role.strip()]
    if not roles:
        raise SpecError(f"{field_name}: the list of roles is empty")
    if len(set(roles)) != len(roles):
        raise SpecError(f"{field_name}: a role is listed twice")
    return roles
