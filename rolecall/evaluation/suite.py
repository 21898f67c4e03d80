"""The evaluation suite: a fixed, versioned list of role-plays, and the spec each one becomes.

Figures compare only when every side held the same role-plays under the same protocol, so
the suite names its roles, tasks and seeds, the settings it is held under (turns, tokens,
temperature), and a version that goes up when any of them changes. rolecall ships one
(``suite.yaml``, package data); ``rolecall eval --suite FILE`` takes one's own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rolecall._checked import describe_validation_error
from rolecall.errors import SpecError
from rolecall.spec import NonBlank, RolePlaySpec, parse_spec, read_yaml

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
#: What a suite varies per role-play; a spec given with a suite may set anything else.
_CASE_KEYS = ("task", "assistant", "user", "seed", "agents")


class Case(BaseModel):
    """One role-play of the suite."""

    model_config = _STRICT

    assistant: NonBlank
    user: NonBlank
    task: NonBlank
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.assistant, self.user, self.task, self.seed)


class Suite(BaseModel):
    """A named, versioned list of role-plays and the settings they are held under."""

    model_config = _STRICT

    name: NonBlank
    version: int = Field(ge=1)
    settings: dict[str, Any] = Field(default_factory=dict)
    roleplays: list[Case] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _distinct(self) -> Suite:
        seen: set[tuple[str, str, str, int]] = set()
        for case in self.roleplays:
            if case.key in seen:
                raise ValueError(f"roleplays: {case.assistant} / {case.user} / {case.task!r} is listed twice")
            seen.add(case.key)
        given = [key for key in _CASE_KEYS if key in self.settings]
        if given:
            raise ValueError(f"settings: {given[0]} is what each role-play gives, not a shared setting")
        return self

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def first(self, count: int | None) -> Suite:
        """The suite cut to its first ``count`` role-plays (a suite of its own name), or itself when None."""
        if count is None:
            return self
        if count < 1:
            raise SpecError("--limit must be at least 1")
        if count >= len(self.roleplays):
            return self
        return self.model_copy(update={"name": f"{self.name}[:{count}]", "roleplays": self.roleplays[:count]})

    def settings_with(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The suite's settings with ``overrides`` laid over them, section by section (``assist``, ``guards``...)."""
        return _merged(self.settings, overrides)

    def spec_for(self, case: Case, overrides: dict[str, Any]) -> RolePlaySpec:
        """The run spec of ``case``: the suite's settings, then ``overrides`` (a spec's fields), then the case."""
        data = self.settings_with(overrides)
        data |= {"task": case.task, "assistant": {"role": case.assistant}, "user": {"role": case.user}}
        data["seed"] = case.seed
        spec = parse_spec(data, source=f"{self.label}: {case.assistant} / {case.user}")
        if not isinstance(spec, RolePlaySpec):
            raise SpecError(f"{self.label}: the suite holds role-plays; agents: is not a setting")
        return spec


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        earlier = merged.get(key)
        both = isinstance(earlier, dict) and isinstance(value, dict)
        merged[key] = _merged(earlier, value) if both else value  # type: ignore[arg-type]
    return merged


def overrides_from(path: str | Path) -> dict[str, Any]:
    """A spec file's fields to hold the suite under; roles, tasks and seeds are the suite's."""
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields")
    given = [key for key in _CASE_KEYS if key in data]
    if given:
        raise SpecError(f"{path}: {given[0]}: the suite gives each role-play's roles, task and seed")
    return data


def load_suite(path: str | Path | None = None) -> Suite:
    """The suite in ``path``, or rolecall's own; any problem is a one-line ``SpecError``."""
    if path is None:
        source = "rolecall's suite"
        data = yaml.safe_load(resources.files("rolecall.evaluation").joinpath("suite.yaml").read_text("utf-8"))
    else:
        source = str(path)
        data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with name, version and roleplays")
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: {describe_validation_error(exc)}") from None
    suite.spec_for(suite.roleplays[0], {})  # the shared settings are a valid spec
    return suite
