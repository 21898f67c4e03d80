"""The role-play: an instructor and an executor work through a task graph, turn by turn.

Without subtasks the task is a one-node graph. Before the first turn the task may be
specified and planned; then the instructor and the executor are cast (a person may take
either side) and the one loop of :class:`~rolecall.dialogue.conversation.Conversation` runs
the :class:`~rolecall.dialogue.instruction.InstructorExecutor` policy.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Sequence
from typing import Any

from rolecall.agents.base import Role
from rolecall.agents.human import HumanExecutor, HumanInstructor, Person
from rolecall.agents.planner import Planner
from rolecall.agents.roleplay_agents import Executor, Instructor, TaskSpecifier
from rolecall.dialogue.continuation import continued_id, continued_settings
from rolecall.dialogue.conversation import Conversation
from rolecall.dialogue.instruction import InstructorExecutor
from rolecall.dialogue.policy import TurnPolicy
from rolecall.errors import SpecError
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.prompts import prompt
from rolecall.settings import Settings
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.tools.toolbox import ToolSource, sources_of
from rolecall.transcripts.perspective import NARRATOR, Said
from rolecall.transcripts.record import AgentInfo, Transcript, conversation_id

#: The keyword arguments a role-play passes when it creates its instructor and executor.
_INSTRUCTOR_KEYWORDS = ("assistant_role", "model", "plan", "task", "done_token", "params", "context_tokens", "assist")
_EXECUTOR_KEYWORDS = ("user_role", "model", "task", "done_token", "params", "context_tokens", "assist")


def check_agent_class(cls: type, what: str, keywords: Sequence[str]) -> None:
    """A ``SpecError`` now, not a ``TypeError`` mid-run, when ``cls`` cannot be created as a role-play does."""
    try:
        inspect.signature(cls).bind("role", **dict.fromkeys(keywords))
    except TypeError as exc:
        raise SpecError(
            f"{what} {cls.__name__} cannot be created with the keyword arguments a role-play passes "
            f"({', '.join(keywords)}): {exc}; accept **options and pass them on to super().__init__"
        ) from None


class RolePlay(Conversation):
    """A CAMEL-style role-play between an instructor (user) and an executor (assistant).

    Its settings come from ``settings`` with the keyword ``options`` on top; on the embedded
    model, the aids measured to help it are on unless set (:meth:`Settings.for_model`).

    >>> transcript = RolePlay("Build a trading bot", assistant_role="Python Programmer",
    ...                       user_role="Stock Trader", model=model).run()   # doctest: +SKIP
    """

    can_plan = True

    def __init__(
        self,
        task: str,
        *,
        assistant_role: str | Role,
        user_role: str | Role,
        model: ChatModel | None = None,
        assistant_model: ChatModel | None = None,
        user_model: ChatModel | None = None,
        graph: TaskGraph | None = None,
        settings: Settings | None = None,
        sample: int = 0,
        instructor_cls: type[Instructor] = Instructor,
        executor_cls: type[Executor] = Executor,
        id: str | None = None,
        critic_model: ChatModel | None = None,
        assistant_tools: Sequence[ToolSource] = (),
        user_tools: Sequence[ToolSource] = (),
        person: Person | None = None,
        **options: Any,
    ) -> None:
        """``settings`` configure the conversation; keyword ``options`` (``max_turns=8``, ``seed=7``,
        any :class:`~rolecall.settings.Settings` field) are applied on top of them.

        ``assistant_tools`` and ``user_tools`` give the executor and the instructor tools: names of
        built-ins (``"calculator"``, ``"python"``, ``"notes"``), ``"module:function"``,
        ``{"mcp": {"command": [...]}}``, :class:`~rolecall.tools.Tool` objects or typed functions.

        ``person`` takes a part: ``person.plays`` is "user" or "assistant" (or that role's name);
        a person can also be the critic (``critic: {by: human}``)."""
        settings = Settings.derive(settings, **options)
        if settings.plan and graph is not None:
            raise SpecError("plan: give either a graph or plan=True, not both")
        check_agent_class(instructor_cls, "instructor_cls", _INSTRUCTOR_KEYWORDS)
        check_agent_class(executor_cls, "executor_cls", _EXECUTOR_KEYWORDS)
        self.assistant_role = Role.of(assistant_role)
        self.user_role = Role.of(user_role)
        self.assistant_model = assistant_model or model
        self.user_model = user_model or model
        if id is None:
            id = uuid.uuid4().hex[:16] if settings.seed is None else conversation_id(
                self.assistant_role.name, self.user_role.name, task.strip(), sample, settings.seed
            )  # fmt: skip
        tools = {self.assistant_role.name: assistant_tools, self.user_role.name: user_tools}
        if assistant_tools and user_tools and self.assistant_role.name == self.user_role.name:
            raise SpecError("tools: the two roles share a name, so their tools cannot be told apart")
        self.human_side = self._side_of(person)
        super().__init__(
            task, id=id, settings=settings, graph=graph, critic_model=critic_model, tools=tools, person=person
        )
        self.instructor_cls = instructor_cls
        self.executor_cls = executor_cls
        self.instructor: Instructor | None = None
        self.executor: Executor | None = None
        self._policy: InstructorExecutor | None = None

    @property
    def models(self) -> Sequence[ChatModel]:
        return [model for model in (self.user_model, self.assistant_model) if model is not None]

    @classmethod
    def resume(
        cls,
        transcript: Transcript,
        *,
        model: ChatModel | None = None,
        assistant_model: ChatModel | None = None,
        user_model: ChatModel | None = None,
        max_turns: int | None = None,
        token_budget: int | None = None,
        **options: Any,
    ) -> RolePlay:
        """A role-play that continues ``transcript`` where it stopped (see :mod:`rolecall.dialogue.continuation`).

        ``options`` change any saved setting; ``max_turns`` and ``token_budget`` are what it may
        spend beyond what was already spent.
        """
        saved, limits = continued_settings(transcript, max_turns=max_turns, token_budget=token_budget)
        roles = {agent.kind: agent.role for agent in transcript.agents}
        if "user" not in roles or "assistant" not in roles:
            raise SpecError(f"conversation {transcript.id} is not an instructor/executor role-play")
        tools = {
            f"{agent.kind}_tools": sources_of([tool.model_dump() for tool in agent.tools])
            for agent in transcript.agents
            if agent.kind in ("user", "assistant")
        }
        roleplay = cls(
            transcript.task.original, assistant_role=roles["assistant"], user_role=roles["user"], model=model,
            assistant_model=assistant_model, user_model=user_model, settings=saved, id=continued_id(transcript),
            # the saved graph is the plan
            **{**limits, "plan": False, "specify_task": False, **tools, **options},
        )  # fmt: skip
        return roleplay.restore(transcript)

    @property
    def policy(self) -> TurnPolicy:
        assert self._policy is not None, "the role-play is prepared before its dialogue starts"
        return self._policy

    async def _prepare(self) -> None:
        if self.resumed:  # the saved conversation set the scene
            self._cast(self.transcript.task.specified or self.transcript.task.original)
            if self.graph.active is None:
                self._start_next()
            return
        task = self.task
        if self.settings.specify_task:
            task = await self._specify()
            self.transcript.task.specified = task
            if not self._has_plan:
                self._use_graph(TaskGraph.single(task))
        if self.settings.plan:
            await self._plan(task)
        self._cast(task)
        assert self.instructor is not None and self.executor is not None
        self.transcript.agents += [self.tools.describe(self.instructor), self.tools.describe(self.executor)]
        first = self._start_next()
        self.transcript.kickoff = (
            prompt("kickoff_subtask", {"subtask": first.title}) if self._has_plan and first else prompt("kickoff", {})
        )

    def _start_next(self) -> Subtask | None:
        assert self._policy is not None
        return self._policy.start_next()

    def _side_of(self, person: Person | None) -> str | None:
        """The side ``person`` plays ("user" or "assistant"), if any; a part that is neither is a ``SpecError``."""
        if person is None or person.plays is None:
            return None
        sides = {"user": "user", "assistant": "assistant", self.user_role.name: "user"}
        sides.setdefault(self.assistant_role.name, "assistant")
        if person.plays not in sides:
            raise SpecError(f"human: {person.plays!r} is neither side (user, assistant, or a role's name)")
        return sides[person.plays]

    def _cast(self, task: str) -> None:
        """Create the instructor and executor for ``task`` (the specified one, if any); a person takes their side."""
        plan = [subtask.title for subtask in self.graph] if self._has_plan else None
        instructor_cls: type[Instructor] = self.instructor_cls
        executor_cls: type[Executor] = self.executor_cls
        person: dict[str, Any] = {"person": self.person}
        if self.human_side == "user":
            instructor_cls = HumanInstructor
        elif self.human_side == "assistant":
            executor_cls = HumanExecutor
        shared: dict[str, Any] = {
            "task": task,
            "done_token": self.settings.done_token,
            "params": self.params,
            "context_tokens": self.settings.context_tokens,
            "assist": self.settings.assist,
        }
        self.instructor = instructor_cls(
            self.user_role, assistant_role=self.assistant_role, model=self.user_model, plan=plan, **shared,
            **(person if self.human_side == "user" else {}),
        )  # fmt: skip
        self.executor = executor_cls(
            self.assistant_role, user_role=self.user_role, model=self.assistant_model, **shared,
            **(person if self.human_side == "assistant" else {}),
        )  # fmt: skip
        self.tools.equip(self.instructor)
        self.tools.equip(self.executor)
        self._policy = InstructorExecutor(
            self.instructor, self.executor, lambda: self.graph, planned=self._has_plan, note=self._note
        )

    def _note(self, text: str) -> None:
        """A note to the instructor (the next subtask), shown before its next turn."""
        self.record.event("instructor_note", at=len(self.messages), text=text)

    async def _plan(self, task: str) -> None:
        planner = Planner(
            assistant_role=self.assistant_role,
            user_role=self.user_role,
            model=self.user_model,
            max_subtasks=self.settings.max_subtasks,
            style=self.settings.plan_style,
            params=GenerationParams(seed=self.settings.seed) if self.settings.seed is not None else None,
            context_tokens=self.settings.context_tokens,
        )
        self.transcript.agents.append(AgentInfo(**planner.describe()))
        outcome = await planner.plan(task)
        for completion in outcome.completions:
            self._meter(completion)
        for attempt in outcome.attempts:
            self.record.event("plan_attempt", **attempt)
        if outcome.graph is None:
            self.record.event(
                "plan_fallback", reason=f"no valid plan in {len(outcome.attempts)} attempts: one-node graph"
            )
            return
        self._use_graph(outcome.graph)
        self._has_plan = True

    async def _specify(self) -> str:
        specifier = TaskSpecifier(
            assistant_role=self.assistant_role,
            user_role=self.user_role,
            model=self.user_model,
            word_limit=self.settings.word_limit,
            params=GenerationParams(max_tokens=max(64, self.settings.word_limit * 3), seed=self.settings.seed),
        )
        self.transcript.agents.append(AgentInfo(**specifier.describe()))
        completion = self._meter(await specifier.step([Said(NARRATOR, specifier.request(self.task))]))
        self.record.event("task_specified", agent=specifier.name, usage=completion.usage.model_dump())
        return completion.text or self.task
