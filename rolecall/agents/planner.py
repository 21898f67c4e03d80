"""The planner: an agent that splits a task into a task graph, as validated structured output.

The reply is requested under a JSON Schema (constrained decoding where the server supports
it), parsed with pydantic and checked as a graph. Two styles: ``graph`` asks for subtasks
with ids and dependencies; ``steps`` asks only for an ordered list of step titles, each
waiting for the one before (what a very small model can still write well). A bad plan is
sent back with the problem named, a bounded number of times; when the model still cannot
plan, the caller falls back to a one-node graph. Every attempt is reported so the
transcript can record it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from rolecall.agents.base import Agent, Role
from rolecall.errors import GraphError
from rolecall.models.base import ChatModel, Completion, GenerationParams, Usage
from rolecall.prompts import prompt, templates
from rolecall.tasks.graph import TaskGraph
from rolecall.transcripts.perspective import Said

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class PlannedSubtask(BaseModel):
    id: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    after: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    subtasks: list[PlannedSubtask] = Field(min_length=1)


PlanStyle = Literal["graph", "steps"]
_NUMBERING = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):-]\s*", re.IGNORECASE)


#: A step is a sentence: a capitalised word and 2 to 12 more (small models otherwise fill strings with code).
STEP_PATTERN = "^[A-Z][a-z]+( [A-Za-z0-9,]+){2,12}$"


def steps_schema(max_subtasks: int) -> dict[str, Any]:
    """The JSON Schema of a ``steps`` plan: 2 to ``max_subtasks`` step titles, in order."""
    step = {"type": "string", "pattern": STEP_PATTERN}
    steps = {"type": "array", "items": step, "minItems": min(2, max_subtasks), "maxItems": max_subtasks}
    return {"type": "object", "properties": {"steps": steps}, "required": ["steps"]}


def plan_schema(max_subtasks: int) -> dict[str, Any]:
    """The JSON Schema of a plan, written inline (no ``$ref``) so grammar compilers accept it."""
    subtask = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "after": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "title", "after"],
    }
    return {
        "type": "object",
        "properties": {"subtasks": {"type": "array", "items": subtask, "minItems": 1, "maxItems": max_subtasks}},
        "required": ["subtasks"],
    }


@dataclass
class PlanOutcome:
    """What planning produced: a graph, or None when every attempt failed."""

    graph: TaskGraph | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        return sum((completion.usage for completion in self.completions), Usage())


class Planner(Agent):
    """Splits a task into subtasks with dependencies."""

    kind = "planner"

    def __init__(
        self,
        *,
        assistant_role: str | Role,
        user_role: str | Role,
        model: ChatModel | None = None,
        max_subtasks: int = 6,
        max_attempts: int = 3,
        style: PlanStyle = "graph",
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.assistant_role = Role.of(assistant_role)
        self.user_role = Role.of(user_role)
        self.max_subtasks = max_subtasks
        self.max_attempts = max_attempts
        self.style = style
        schema = plan_schema(max_subtasks) if style == "graph" else steps_schema(max_subtasks)
        schema_params = GenerationParams(json_schema=schema, max_tokens=400, temperature=0.2)
        super().__init__(
            "Planner",
            model=model,
            template=templates()["planner_system"],
            params=schema_params.merged(params),
            **options,
        )

    async def plan(self, task: str) -> PlanOutcome:
        """Ask for a plan until one is valid or the attempts run out."""
        values = {
            "task": task,
            "assistant_role": self.assistant_role.name,
            "user_role": self.user_role.name,
            "max_subtasks": self.max_subtasks,
        }
        conversation = [Said("rolecall", prompt("planner" if self.style == "graph" else "planner_steps", values))]
        outcome = PlanOutcome(graph=None)
        for attempt in range(1, self.max_attempts + 1):
            completion: Completion = await self.step(conversation, params=self.params.retry(attempt))
            outcome.completions.append(completion)
            try:
                outcome.graph = self.parse(completion.text)
            except (ValueError, GraphError) as exc:
                problem = str(exc).splitlines()[0][:300]
                outcome.attempts.append({"attempt": attempt, "ok": False, "problem": problem, "reply": completion.text})
                conversation += [
                    Said(self.name, completion.text),
                    Said("rolecall", prompt("planner_retry", values | {"problem": problem})),
                ]
                continue
            outcome.attempts.append({"attempt": attempt, "ok": True, "subtasks": len(outcome.graph)})
            return outcome
        return outcome

    def plan_sync(self, task: str) -> PlanOutcome:
        """Blocking form of :meth:`plan` (the model's connections, made for this call's loop, are closed after it)."""

        async def plan_and_close() -> PlanOutcome:
            try:
                return await self.plan(task)
            finally:
                if self.model is not None:
                    await self.model.aclose()

        return asyncio.run(plan_and_close())

    def parse(self, text: str) -> TaskGraph:
        """A validated graph from a reply; ``ValueError`` or ``GraphError`` says what is wrong."""
        match = _JSON_OBJECT.search(text)
        if match is None:
            raise ValueError("the reply holds no JSON object")
        if self.style == "steps":
            return self._parse_steps(match.group())
        try:
            plan = Plan.model_validate(json.loads(match.group(), strict=False))
        except json.JSONDecodeError as exc:
            raise ValueError(f"the JSON does not parse ({exc.msg})") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from None
        if len(plan.subtasks) > self.max_subtasks:
            raise ValueError(f"it has {len(plan.subtasks)} subtasks, more than {self.max_subtasks}")
        graph = TaskGraph()
        for subtask in plan.subtasks:
            graph.add(subtask.id.strip(), subtask.title.strip(), after=[dep.strip() for dep in subtask.after])
        return graph.validate()

    def _parse_steps(self, text: str) -> TaskGraph:
        """A chain of steps (each after the one before) from a ``steps`` reply; repeats and numbering dropped."""
        try:
            steps = json.loads(text, strict=False)["steps"]
        except json.JSONDecodeError as exc:
            raise ValueError(f"the JSON does not parse ({exc.msg})") from None
        except (KeyError, TypeError):
            raise ValueError('the JSON has no "steps" list') from None
        if not isinstance(steps, list):
            raise ValueError('"steps" is not a list')
        titles = [_NUMBERING.sub("", str(step)).strip()[:200] for step in steps]
        titles = [title for title in dict.fromkeys(titles) if len(title.split()) >= 2]
        if not titles:
            raise ValueError("no step says what to do (each step is a short sentence)")
        if len(titles) > self.max_subtasks:
            raise ValueError(f"it has {len(titles)} steps, more than {self.max_subtasks}")
        graph = TaskGraph()
        for number, title in enumerate(titles, start=1):
            graph.add(f"step{number}", title, after=[f"step{number - 1}"] if number > 1 else [])
        return graph.validate()
