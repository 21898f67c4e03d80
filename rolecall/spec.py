"""Conversation specs: the YAML files ``rolecall run`` reads, validated with pydantic.

A role-play spec names the task, the two roles and the limits; a society spec lists its
``agents`` and a turn policy. Either may set the model, sampling parameters, guards, a
critic, prices and budgets; a role-play may declare subtasks or ask for a plan. Unknown
fields are errors (a typo must not be silently ignored), and every error is reported as
one line naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rolecall._checked import describe_validation_error, require_text_keys
from rolecall._limits import MAX_TURNS
from rolecall.agents.base import Role
from rolecall.agents.human import Person
from rolecall.agents.members import Member
from rolecall.dialogue import RolePlay, Society
from rolecall.errors import SpecError
from rolecall.guards import build as build_guards
from rolecall.models.base import ChatModel
from rolecall.settings import Settings
from rolecall.tasks.graph import TaskGraph
from rolecall.turns import TurnSettings


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


#: Text that must hold more than whitespace; stored stripped.
NonBlank = Annotated[str, AfterValidator(_not_blank)]


class AgentSpec(BaseModel):
    """One side of the role-play."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    role: NonBlank
    description: str | None = None
    #: Tools this side may call: built-in names, "module:function", {mcp: {command: [...]}}.
    tools: list[str | dict[str, Any]] = Field(default_factory=list, max_length=64)

    def to_role(self) -> Role:
        return Role(name=self.role, description=self.description)


class SubtaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    after: list[str] = Field(default_factory=list)
    max_turns: int | None = Field(default=None, gt=0, le=MAX_TURNS)

    @model_validator(mode="before")
    @classmethod
    def _rejoin_split_title(cls, data: Any) -> Any:
        """Rejoin a title that YAML's flow syntax split at its commas.

        ``{id: pages, title: Write the home, tour and contact pages}`` parses as a title
        "Write the home" plus a key "tour and contact pages" with no value. Such keys,
        following ``title``, are put back into the title in order.
        """
        if not isinstance(data, dict) or not isinstance(data.get("title"), str):
            return data
        fields, title, after_title = {}, data["title"], False
        for key, value in data.items():
            if key == "title":
                after_title = True
            elif after_title and value is None and isinstance(key, str) and key not in cls.model_fields:
                title = f"{title}, {key}"
                continue
            fields[key] = value
        fields["title"] = title
        return fields


class _Spec(Settings):
    """What every conversation spec holds: the task, the endpoint, and the :class:`Settings` fields."""

    task: NonBlank
    model: str | None = None
    base_url: str | None = None

    def settings(self) -> Settings:
        """The spec's settings, with what it left unset still unset (so endpoint defaults can apply).

        The spec validated them as it was parsed (it is a :class:`Settings`): they are taken as they are.
        """
        fields = set(Settings.model_fields)
        values = {name: getattr(self, name) for name in fields}
        return Settings.model_construct(_fields_set=self.model_fields_set & fields, **values)


class RolePlaySpec(_Spec):
    """An instructor and an executor: everything ``rolecall run`` needs for a role-play."""

    assistant: AgentSpec
    user: AgentSpec
    subtasks: list[SubtaskSpec] | None = Field(default=None, max_length=500)

    def graph(self) -> TaskGraph | None:
        """The declared task graph, validated, or None when the spec has no subtasks."""
        if self.subtasks is None:
            return None
        if self.plan:
            raise SpecError("plan: give either subtasks or plan: true, not both")
        graph = TaskGraph()
        for subtask in self.subtasks:
            graph.add(
                subtask.id,
                subtask.title,
                after=subtask.after,
                description=subtask.description,
                max_turns=subtask.max_turns,
            )
        return graph.validate()

    def build(
        self, model: ChatModel | None, *, id: str | None = None, sample: int = 0, person: Person | None = None
    ) -> RolePlay:
        """The role-play this spec describes, talking to ``model`` (and ``person``, when one takes part):
        the one way a spec becomes a conversation."""
        return RolePlay(
            self.task,
            assistant_role=self.assistant.to_role(),
            user_role=self.user.to_role(),
            model=model,
            graph=self.graph(),
            settings=self.settings(),
            id=id,
            sample=sample,
            assistant_tools=self.assistant.tools,
            user_tools=self.user.tools,
            person=person,
        )


class SocietySpec(_Spec):
    """More than two agents with a turn policy."""

    agents: list[Member] = Field(min_length=2, max_length=64)
    turns: TurnSettings = Field(default_factory=TurnSettings)
    lead: str | None = None

    @model_validator(mode="after")
    def _no_roleplay_options(self) -> SocietySpec:
        given = sorted({"specify_task", "plan"} & self.model_fields_set)
        if given:
            raise ValueError(f"{given[0]} applies to two-agent role-plays, not to a society")
        return self

    def build(
        self, model: ChatModel | None, *, id: str | None = None, sample: int = 0, person: Person | None = None
    ) -> Society:
        """The society this spec describes, talking to ``model`` (and ``person``, when one takes part):
        the one way a spec becomes a conversation."""
        return Society(
            self.task, self.agents, model=model, turns=self.turns, lead=self.lead, settings=self.settings(), id=id,
            sample=sample, person=person,
        )  # fmt: skip


Spec = RolePlaySpec | SocietySpec


#: Bounds on a spec file: its size, how deeply it nests, and how many values it holds once
#: YAML aliases are expanded (so an alias bomb is refused before anything walks it).
MAX_SPEC_BYTES = 1 << 20
MAX_SPEC_DEPTH = 64
MAX_SPEC_VALUES = 200_000


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents nested deeper than ``MAX_SPEC_DEPTH``."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_SPEC_DEPTH:
                raise SpecError(f"nested more than {MAX_SPEC_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` holds with every alias expanded (each shared node counted once per use)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    sizes[id(node)] = size
    return size


def read_yaml(path: str | Path) -> Any:
    """A YAML file's data; any file that is not a sane YAML document is a one-line ``SpecError``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES >> 20} MiB; a spec is a short YAML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_yaml(text, source=str(path))


def parse_yaml(text: str, *, source: str = "spec") -> Any:
    """YAML text as data, within the bounds above; every problem is a one-line ``SpecError``."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_SPEC_VALUES:
            raise SpecError(f"more than {MAX_SPEC_VALUES:,} values once aliases are expanded")
        return loader.construct_document(node)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{source}:{where} is not valid YAML: {problem}") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of thousands of digits
        raise SpecError(f"{source}: a value cannot be read: {exc}") from None
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; every problem is a one-line ``SpecError``."""
    return parse_spec(read_yaml(path), source=str(path))


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Validate already-parsed spec data: a society when it lists ``agents``, else a role-play."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        require_text_keys(data)
        spec: Spec
        if "agents" in data:
            spec = SocietySpec.model_validate(data)
            spec.build(None)  # checks roster, lead, transitions, guards
        else:
            spec = RolePlaySpec.model_validate(data)
            spec.graph()
            build_guards(spec.guards)
    except ValidationError as exc:
        raise SpecError(f"{source}: {describe_validation_error(exc)}") from None
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
    return spec
