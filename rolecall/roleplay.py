"""The role-play loop: an instructor and an executor work through a task graph, turn by turn.

One loop serves every conversation: without subtasks the task is a one-node graph. Each
turn the instructor speaks, then (unless it said the done token) the executor answers.
The done token closes the current subtask and the next ready one starts; a subtask that
uses up its turn allowance fails and what depends on it is skipped. Metering, limits,
guards, the critic and the transcript come from :class:`~rolecall.conversation.Conversation`.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from rolecall.agents.base import Role
from rolecall.agents.human import HumanExecutor, HumanInstructor, Person
from rolecall.agents.roleplay_agents import Executor, Instructor, TaskSpecifier
from rolecall.agents.templates import prompt
from rolecall.conversation import Conversation
from rolecall.errors import SpecError
from rolecall.models.base import ChatModel, GenerationParams, Usage
from rolecall.models.meter import Meter
from rolecall.settings import Settings
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.tasks.planner import Planner
from rolecall.tools.toolbox import ToolSource, sources_of
from rolecall.transcripts.perspective import NARRATOR, Said, lines_for
from rolecall.transcripts.record import AgentInfo, Message, Transcript, conversation_id

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
        self._resumed_task: str | None = None

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
        """A role-play that continues ``transcript`` where it stopped.

        The new conversation carries every saved message, event and subtask status and the
        saved settings (``options`` change any of them); it gets the id ``<old id>-r<n>`` and
        names the old one in ``parent_id``. ``max_turns`` and ``token_budget`` are what it
        may spend *beyond* what was already spent (default: the original limits again).
        """
        reason = transcript.termination.reason if transcript.termination else None
        if reason in ("task_done", "graph_complete"):
            raise SpecError(f"conversation {transcript.id} already ended with {reason}; nothing to resume")
        if transcript.task_graph is None or not transcript.messages:
            raise SpecError(f"conversation {transcript.id} has no saved progress to resume from")
        roles = {agent.kind: agent.role for agent in transcript.agents}
        tools = {
            f"{agent.kind}_tools": sources_of([tool.model_dump() for tool in agent.tools])
            for agent in transcript.agents
            if agent.kind in ("user", "assistant")
        }
        if "user" not in roles or "assistant" not in roles:
            raise SpecError(f"conversation {transcript.id} is not an instructor/executor role-play")
        saved = Settings.saved(
            transcript.settings, limits=transcript.limits, seed=transcript.seed, done_token=transcript.done_token
        )
        turn = transcript.messages[-1].turn
        spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
        extra_budget = token_budget if token_budget is not None else saved.token_budget
        base_id, _, generation = transcript.id.partition("-r")
        roleplay = cls(
            transcript.task.original,
            assistant_role=roles["assistant"],
            user_role=roles["user"],
            model=model,
            assistant_model=assistant_model,
            user_model=user_model,
            graph=TaskGraph.from_node_link(transcript.task_graph),
            settings=saved,
            id=f"{base_id}-r{int(generation) + 1 if generation.isdigit() else 1}",
            **{
                "max_turns": turn + (max_turns or saved.max_turns),
                "token_budget": spent + extra_budget if extra_budget is not None else None,
                "plan": False,  # the saved graph is the plan
                "specify_task": False,
                **tools,
                **options,
            },
        )
        roleplay._restore(transcript)
        return roleplay

    def _restore(self, saved: Transcript) -> None:
        self._resumed_task = saved.task.specified or saved.task.original
        self._has_plan = saved.planned
        self.messages = [message.model_copy() for message in saved.messages]
        self._shown = len(self.messages)
        self.events = [event.model_copy() for event in saved.events]
        self.turn = self.messages[-1].turn
        usage = Usage(prompt_tokens=saved.usage.prompt_tokens, completion_tokens=saved.usage.completion_tokens)
        self.meter = Meter(self.settings.price_table(), usage=usage, cost_usd=saved.usage.cost_usd)
        self._last_progress_turn = self.turn
        transcript = self.transcript
        transcript.parent_id = saved.id
        transcript.task = saved.task.model_copy()
        transcript.agents = [agent.model_copy() for agent in saved.agents]
        transcript.kickoff = saved.kickoff
        transcript.messages, transcript.events = self.messages, self.events
        self._event("resumed", parent_id=saved.id, previous=saved.termination.reason if saved.termination else None)
        if self.graph.active is None:
            self._start_next()

    async def _prepare(self) -> None:
        if self._resumed_task is not None:  # the saved conversation set the scene
            self._cast(self._resumed_task)
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
        self.transcript.agents += [self._describe(self.instructor), self._describe(self.executor)]
        first = self._start_next()
        self.transcript.kickoff = (
            prompt("kickoff_subtask", {"subtask": first.title}) if self._has_plan and first else prompt("kickoff", {})
        )

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
        self._equip(self.instructor)
        self._equip(self.executor)

    def _use_graph(self, graph: TaskGraph) -> None:
        self.graph = graph
        graph.subscribe(self._record_status)

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
            self._event("plan_attempt", **attempt)
        if outcome.graph is None:
            self._event("plan_fallback", reason=f"no valid plan in {len(outcome.attempts)} attempts: one-node graph")
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
        self._event("task_specified", agent=specifier.name, usage=completion.usage.model_dump())
        return completion.text or self.task

    async def _dialogue(self) -> AsyncIterator[Message]:
        assert self.instructor is not None and self.executor is not None
        last = next((message for message in reversed(self.messages) if message.is_dialogue), None)
        if last is not None and last.role == "user" and not self.instructor.is_done(last.content):
            # Resumed after the instructor spoke: the executor owes an answer first.
            if (reason := self._limit_reached()) is not None:
                self._finish(reason)
                return
            yield await self._speak(self.executor, self._executor_view(), side="assistant")
        while True:
            if self._close_overdue_subtask():
                return
            reason = self._limit_reached(new_turn=True)
            if reason is not None:
                self._finish(reason)
                return
            self.turn += 1
            active = self.graph.active
            if active is not None:
                active.turns += 1
            instruction = await self._speak(self.instructor, self._instructor_view(), side="user")
            if not self.instructor.is_done(instruction.content):
                yield instruction
            else:  # close the subtask first, so whoever reads the message sees the graph moved
                ended = active is None
                if active is not None:
                    self.graph.complete(active.id, result=f"done at turn {self.turn}")
                    ended = self._advance(finished=active, outcome="done")
                yield instruction
                if ended:
                    return
                continue
            if (reason := self._limit_reached()) is not None:
                self._finish(reason)
                return
            yield await self._speak(self.executor, self._executor_view(), side="assistant")

    # -- views ----------------------------------------------------------------------------

    def _instructor_view(self) -> list[Said]:
        assert self.instructor is not None
        return lines_for(self.transcript, name=self.instructor.name, kind="user")

    def _executor_view(self) -> list[Said]:
        assert self.executor is not None
        return lines_for(self.transcript, name=self.executor.name, kind="assistant")

    # -- the task graph -------------------------------------------------------------------

    def _start_next(self) -> Subtask | None:
        subtask = self.graph.next_ready()
        return self.graph.start(subtask.id) if subtask is not None else None

    def _advance(self, *, finished: Subtask, outcome: str) -> bool:
        """Start the next subtask and tell the instructor; True when the graph is finished."""
        following = self._start_next()
        if following is None:
            progress = self.graph.progress()
            if not self._has_plan:
                self._finish("task_done")
            elif progress.done == progress.total:
                self._finish("graph_complete")
            else:
                self._finish("graph_complete", detail=str(progress))
            return True
        note = prompt("next_subtask", {"finished": finished.title, "outcome": outcome, "subtask": following.title})
        self._event("instructor_note", at=len(self.messages), text=note)
        return False

    def _close_overdue_subtask(self) -> bool:
        """Fail the active subtask if it used its turn allowance; True when that ends the graph."""
        active = self.graph.active
        if active is None or active.max_turns is None or active.turns < active.max_turns:
            return False
        skipped = self.graph.fail(active.id, result=f"no done token within {active.max_turns} turns")
        outcome = "out of turns and marked failed"
        if skipped:
            outcome += "; skipped as a result: " + ", ".join(f'"{other.title}"' for other in skipped)
        return self._advance(finished=active, outcome=outcome)
