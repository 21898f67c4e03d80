"""The one settings object: everything a conversation is configured with, declared once.

A spec's fields, ``RolePlay``/``Society`` keyword arguments, a batch spec and a saved
transcript's ``settings`` are all this object. A limit is one field of :class:`Settings` and
its check, a method marked ``@limit("reason")`` beside it: the reason is then a termination
reason, checked before every turn and reply, with nothing else to edit. Defaults can depend
on the endpoint: on the embedded model the aids measured to help it are on unless the caller
said otherwise (:meth:`Settings.for_model`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from rolecall._checked import Checked, describe_validation_error, require_text_keys
from rolecall._limits import MAX_CONTEXT_TOKENS, MAX_COST_USD, MAX_SECONDS, MAX_SEED, MAX_TOKENS, MAX_TURNS
from rolecall.errors import SpecError, shorten
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.models.pricing import Price, PriceTable
from rolecall.transcripts.record import DONE_TOKEN

#: What happens when a guard objects: re-ask (bounded), keep and record, end the conversation, or skip the guard.
Action = Literal["reask", "flag", "stop", "off"]
ACTIONS: tuple[Action, ...] = ("reask", "flag", "stop", "off")

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
#: Spec keys of earlier versions that set a guard's option: key -> (guard, option).
_LEGACY_GUARD_OPTIONS = {
    "echo_threshold": ("echo", "threshold"),
    "loop_threshold": ("loop", "threshold"),
    "loop_window": ("loop", "window"),
}


class GuardSettings(Checked):
    """The spec's ``guards:`` section: an action (and options) per registered guard.

    ``guards: {refusal: flag, echo: {action: reask, threshold: 0.7}, max_reasks: 2}``. A
    guard not named keeps its own default action. Names are checked against the registry
    when the guards are built (:func:`rolecall.guards.build`).
    """

    model_config = _STRICT

    enabled: bool = True
    max_reasks: int = Field(default=2, ge=0, le=10)
    actions: dict[str, Action] = Field(default_factory=dict)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_guard_names(cls, data: Any) -> Any:
        """Fold ``NAME: action`` and ``NAME: {action, option: value}`` keys into ``actions`` and ``options``."""
        if not isinstance(data, Mapping):
            return data
        fields: dict[str, Any] = {}
        actions = dict(data.get("actions") or {}) if isinstance(data.get("actions"), Mapping) else {}
        options = dict(data.get("options") or {}) if isinstance(data.get("options"), Mapping) else {}
        for key, value in data.items():
            if key in cls.model_fields:
                fields[key] = value
            elif key in _LEGACY_GUARD_OPTIONS:
                guard, option = _LEGACY_GUARD_OPTIONS[key]
                options[guard] = {**options.get(guard, {}), option: value}
            elif value is False:  # YAML reads a bare `off` as false
                actions[key] = "off"
            elif isinstance(value, str):
                actions[key] = value
            elif isinstance(value, Mapping):
                given = dict(value)
                if "action" in given:
                    action = given.pop("action")
                    actions[key] = "off" if action is False else action
                options[key] = {**options.get(key, {}), **given}
            else:
                raise ValueError(f"{shorten(key, 40)}: give an action ({', '.join(ACTIONS)}) or a mapping")
        return fields | {"actions": actions, "options": options}

    @classmethod
    def off(cls) -> GuardSettings:
        """No guard runs."""
        return cls(enabled=False)


class Assist(Checked):
    """Aids that keep small models on task; what each is worth is measured in docs/on_task.md.

    ``stops`` cuts a reply where the other role would begin (the instructor writing
    "Solution:", the executor writing "Instruction:"); ``few_shot`` adds one worked
    exchange to each system prompt; ``json_turns`` has each turn written under a JSON
    Schema (constrained decoding on llama.cpp and OpenAI) and rendered back to plain text.
    """

    model_config = _STRICT

    stops: bool = True
    few_shot: bool = False
    json_turns: bool = False


class CriticSettings(Checked):
    """The spec's ``critic:`` section."""

    model_config = _STRICT

    role: str = Field(default="Critic", min_length=1, max_length=200)
    mode: Literal["pick", "review"] = "review"
    #: Who judges: the model, a person at the terminal (``mode: human`` is short for ``by: human``), or a judge of
    #: ``rolecall.judges`` (``by: judge``: the best of the candidates by the judge's score; ``judge:`` names it).
    by: Literal["model", "human", "judge"] = "model"
    judge: str = Field(default="probe", min_length=1, max_length=40)
    candidates: int = Field(default=3, ge=2, le=8)
    criteria: str = "helpful, specific, correct, and in the required format"
    applies_to: list[str] = Field(default_factory=lambda: ["assistant"])
    max_revisions: int = Field(default=1, ge=0, le=5)

    @model_validator(mode="before")
    @classmethod
    def _human_mode(cls, data: Any) -> Any:
        """``mode: human`` means a person judges: picking when candidates are given, reviewing otherwise."""
        if isinstance(data, dict) and data.get("mode") == "human":
            return {**data, "by": "human", "mode": "pick" if "candidates" in data else "review"}
        if isinstance(data, dict) and data.get("by") == "judge":
            if data.get("mode", "pick") != "pick":
                raise ValueError("by: judge picks the best of the candidates: mode must be pick")
            return {**data, "mode": "pick"}
        return data


class SandboxLimits(Checked):
    """Limits of each run of the ``python`` tool (a child process that sets them on itself)."""

    model_config = _STRICT

    cpu_seconds: int = Field(default=5, ge=1, le=600)
    memory_mb: int = Field(default=256, ge=64, le=65536)


class ToolSettings(Checked):
    """The spec's ``tool_settings:`` section: how tool calls are offered, bounded and run.

    ``protocol`` is how tools reach the model: ``native`` function calling (OpenAI ``tools``),
    ``json`` (each turn decoded under a JSON Schema that offers an answer or a call), or
    ``auto``: native unless the endpoint lacks function calling (the embedded model does).
    """

    model_config = _STRICT

    protocol: Literal["auto", "native", "json"] = "auto"
    calls_per_turn: int = Field(default=4, ge=1, le=32, description="tool calls an agent may make before it answers")
    timeout: float = Field(default=15.0, gt=0, le=3600, description="seconds of wall clock per call")
    output_chars: int = Field(default=8000, ge=100, le=1_000_000, description="characters of a result kept")
    python: SandboxLimits = Field(default_factory=SandboxLimits)


#: A limit's check: whether ``settings`` are reached by what was ``spent`` (before a new turn or a reply).
LimitCheck = Callable[["Settings", "Spent", bool], bool]


def limit(reason: str) -> Callable[[LimitCheck], LimitCheck]:
    """Mark a method of :class:`Settings` as a limit's check; ``reason`` is the termination reason it gives."""

    def mark(check: LimitCheck) -> LimitCheck:
        check.limit_reason = reason  # type: ignore[attr-defined]
        return check

    return mark


@dataclass(frozen=True)
class Spent:
    """What a conversation has used so far, as the limits see it."""

    turns: int = 0
    messages: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0
    turns_without_progress: int = 0


class Settings(Checked):
    """Everything a conversation is configured with (role-play options are ignored by societies)."""

    model_config = _STRICT

    # -- limits: each one a field here and a @limit check below ---------------------------------
    max_turns: int = Field(default=10, gt=0, le=MAX_TURNS, description="instructions (society: messages) in all")
    token_budget: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    cost_budget: float | None = Field(default=None, gt=0, le=MAX_COST_USD, description="USD; needs prices")
    timeout: float | None = Field(default=None, gt=0, le=MAX_SECONDS, description="seconds of wall clock")
    no_progress_turns: int | None = Field(default=None, gt=0, le=MAX_TURNS)
    # -- sampling and protocol ---------------------------------------------------------------
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    params: GenerationParams = Field(default_factory=GenerationParams)
    done_token: str = Field(default=DONE_TOKEN, min_length=1, max_length=200)
    context_tokens: int | None = Field(default=None, gt=255, le=MAX_CONTEXT_TOKENS)
    # -- keeping agents on task ----------------------------------------------------------------
    guards: GuardSettings = Field(default_factory=GuardSettings)
    assist: Assist = Field(default_factory=Assist)
    critic: CriticSettings | None = None
    prices: dict[str, Price] = Field(default_factory=dict)
    tool_settings: ToolSettings = Field(default_factory=ToolSettings)
    # -- role-play preparation -----------------------------------------------------------------
    specify_task: bool = False
    word_limit: int = Field(default=50, gt=0, le=2000)
    plan: bool = False
    plan_style: Literal["graph", "steps"] = Field(
        default="graph", description="graph: subtasks with dependencies; steps: an ordered list of step titles"
    )
    max_subtasks: int = Field(default=6, gt=0, le=30)

    @classmethod
    def derive(cls, base: Settings | None = None, **changes: Any) -> Settings:
        """``base`` (or the defaults) with ``changes``, validated; a bad value is a ``SpecError``."""
        unknown = sorted(set(changes) - set(cls.model_fields))
        if unknown:
            raise SpecError(f"unknown setting {unknown[0]!r}; settings are: {', '.join(cls.model_fields)}")
        if base is not None and not changes and isinstance(base, cls):
            return base  # validated when they were made: nothing to check again
        given = base.model_dump(exclude_unset=True) if base is not None else {}
        kind = type(base) if base is not None and isinstance(base, cls) else cls  # a subclass keeps its own limits
        require_text_keys(changes)
        try:
            return kind.model_validate(given | changes)
        except ValidationError as exc:
            raise SpecError(describe_validation_error(exc)) from None

    @classmethod
    def saved(
        cls,
        settings: Mapping[str, Any],
        *,
        limits: Mapping[str, Any] | None = None,
        seed: int | None = None,
        done_token: str | None = None,
    ) -> Settings:
        """The settings a transcript recorded (its ``settings``; files of 0.1 kept limits, guards and assist apart)."""
        if "max_turns" in settings:
            data = dict(settings)
        else:  # an older transcript: limits apart, only guards and assist under settings
            data = {**(limits or {}), **{key: settings[key] for key in ("guards", "assist") if key in settings}}
            data |= {"seed": seed} if seed is not None else {}
            data |= {"done_token": done_token} if done_token else {}
        try:
            require_text_keys(data)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(f"the saved settings are not valid: {describe_validation_error(exc)}") from None
        except SpecError as exc:
            raise SpecError(f"the saved settings are not valid: {exc}") from None

    def price_table(self) -> PriceTable:
        return PriceTable(self.prices)

    def check_prices(self, models: Iterable[str]) -> None:
        """A cost budget needs a price for every model it meters: say which one lacks it, before any call."""
        if self.cost_budget is not None:
            self.price_table().require(models, budget="cost_budget")

    # -- the limits' checks, in the order they are checked --------------------------------------

    @limit("max_turns")
    def limit_turns(self, spent: Spent, new_turn: bool) -> bool:
        """Checked before a new turn only, so the last instruction is answered."""
        return new_turn and spent.turns >= self.max_turns

    @limit("token_budget")
    def limit_tokens(self, spent: Spent, new_turn: bool) -> bool:
        return self.token_budget is not None and spent.tokens >= self.token_budget

    @limit("cost_budget")
    def limit_cost(self, spent: Spent, new_turn: bool) -> bool:
        """A cost that cannot be metered cannot be kept under a budget either."""
        return self.cost_budget is not None and (spent.cost_usd is None or spent.cost_usd >= self.cost_budget)

    @limit("timeout")
    def limit_clock(self, spent: Spent, new_turn: bool) -> bool:
        return self.timeout is not None and spent.seconds >= self.timeout

    @limit("no_progress")
    def limit_progress(self, spent: Spent, new_turn: bool) -> bool:
        return self.no_progress_turns is not None and spent.turns_without_progress >= self.no_progress_turns

    @classmethod
    def limits(cls) -> dict[str, LimitCheck]:
        """Every limit's check by its termination reason, in the order they are checked."""
        found = [value for kind in reversed(cls.__mro__) for value in vars(kind).values()]
        return {check.limit_reason: check for check in found if hasattr(check, "limit_reason")}

    def limit_reached(self, spent: Spent, *, new_turn: bool) -> str | None:
        """The first limit ``spent`` has reached (its reason ends the conversation), or None."""
        return next((reason for reason, check in self.limits().items() if check(self, spent, new_turn)), None)

    def for_model(self, model: ChatModel | None, *, can_plan: bool = False) -> tuple[Settings, dict[str, Any]]:
        """These settings with the defaults of ``model``'s endpoint applied, and which ones applied.

        On the embedded model, what was measured to keep a 135M model on task is on unless
        the caller set it: ``assist.json_turns`` (each turn decoded under a JSON Schema), and,
        for a role-play with no subtasks of its own (``can_plan``), ``plan`` with
        ``plan_style: steps`` (a plan of step titles gives the instructor a new step to
        direct each time instead of restating the task). The fields a caller set are kept.
        """
        if model is None or not model.embedded:
            return self, {}
        applied: dict[str, Any] = {}
        if "json_turns" not in self.assist.model_fields_set:
            applied["assist.json_turns"] = True
        if can_plan and "plan" not in self.model_fields_set:
            applied["plan"] = True
        if (applied.get("plan") or self.plan) and "plan_style" not in self.model_fields_set:
            applied["plan_style"] = "steps"
        if not applied:
            return self, {}
        # Applied defaults stay unset, so settings passed on to another endpoint decide afresh.
        assist = self.assist.model_copy(update={"json_turns": True} if "assist.json_turns" in applied else {})
        assist.__pydantic_fields_set__ = set(self.assist.model_fields_set)
        changes = {key: value for key, value in applied.items() if key in ("plan", "plan_style")}
        adjusted = self.model_copy(update={"assist": assist, **changes})
        adjusted.__pydantic_fields_set__ = set(self.model_fields_set)
        return adjusted, applied
