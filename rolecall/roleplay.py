"""The role-play loop: an instructor and an executor work through a task graph, turn by turn.

One loop serves every conversation: without subtasks the task is a one-node graph. Each
turn the instructor speaks, then (unless it said the done token) the executor answers.
The done token closes the current subtask and the next ready one starts. The loop stops on
the first limit reached (graph finished, max turns, token budget, wall clock, a subtask's
own turn allowance only fails that subtask) and always leaves a complete transcript in
:attr:`RolePlay.transcript`, also when the model fails or the run is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from rolecall.agents.base import Agent, Role, Said
from rolecall.agents.roleplay_agents import DONE_TOKEN, Executor, Instructor, TaskSpecifier
from rolecall.agents.templates import prompt
from rolecall.errors import RunError, SpecError
from rolecall.models.base import ChatModel, Completion, GenerationParams, Usage
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.tasks.planner import Planner
from rolecall.transcripts.record import (
    FAILED_REASONS,
    AgentInfo,
    ErrorInfo,
    Event,
    Message,
    TaskText,
    Termination,
    TotalUsage,
    Transcript,
    conversation_id,
    utc_now,
)

log = logging.getLogger(__name__)

#: The speaker name of notes rolecall itself adds to the instructor's view.
NARRATOR = "rolecall"


class RolePlay:
    """A CAMEL-style role-play between an instructor (user) and an executor (assistant).

    >>> transcript = RolePlay("Build a trading bot", assistant_role="Python Programmer",
    ...                       user_role="Stock Trader", model=model).run()   # doctest: +SKIP
    """

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
        max_turns: int = 10,
        token_budget: int | None = None,
        timeout: float | None = None,
        seed: int | None = None,
        sample: int = 0,
        specify_task: bool = False,
        word_limit: int = 50,
        plan: bool = False,
        max_subtasks: int = 6,
        done_token: str = DONE_TOKEN,
        params: GenerationParams | None = None,
        context_tokens: int | None = None,
        instructor_cls: type[Instructor] = Instructor,
        executor_cls: type[Executor] = Executor,
        id: str | None = None,
    ) -> None:
        if not task.strip():
            raise ValueError("the task is empty")
        if max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        self.task = task.strip()
        self.assistant_role = Role.of(assistant_role)
        self.user_role = Role.of(user_role)
        self.assistant_model = assistant_model or model
        self.user_model = user_model or model
        self.graph = graph.validate() if graph is not None else TaskGraph.single(self.task)
        self.max_turns = max_turns
        self.token_budget = token_budget
        self.timeout = timeout
        self.seed = seed
        if plan and graph is not None:
            raise ValueError("give either a graph or plan=True, not both")
        self.specify_task = specify_task
        self.word_limit = word_limit
        self.plan = plan
        self.max_subtasks = max_subtasks
        self.done_token = done_token
        self.params = (params or GenerationParams()).merged(GenerationParams(seed=seed) if seed is not None else None)
        self.context_tokens = context_tokens
        self.instructor_cls = instructor_cls
        self.executor_cls = executor_cls
        self._has_plan = graph is not None
        self.turn = 0
        self.usage = Usage()
        self.messages: list[Message] = []
        self.events: list[Event] = []
        self.instructor: Instructor | None = None
        self.executor: Executor | None = None
        self.transcript = Transcript(
            id=id or self._make_id(sample),
            task=TaskText(original=self.task),
            seed=seed,
            limits={"max_turns": max_turns, "token_budget": token_budget, "timeout": timeout},
            done_token=done_token,
        )
        self._started = time.monotonic()
        self.graph.subscribe(self._record_status)

    def _make_id(self, sample: int) -> str:
        if self.seed is None:
            return uuid.uuid4().hex[:16]
        return conversation_id(self.assistant_role.name, self.user_role.name, self.task, sample, self.seed)

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

        The new conversation carries every saved message, event and subtask status, gets
        the id ``<old id>-r<n>`` and names the old one in ``parent_id``. ``max_turns`` and
        ``token_budget`` are what it may spend *beyond* what was already spent (default:
        the original limits again).
        """
        reason = transcript.termination.reason if transcript.termination else None
        if reason in ("task_done", "graph_complete"):
            raise SpecError(f"conversation {transcript.id} already ended with {reason}; nothing to resume")
        if transcript.task_graph is None or not transcript.messages:
            raise SpecError(f"conversation {transcript.id} has no saved progress to resume from")
        roles = {agent.kind: agent.role for agent in transcript.agents}
        if "user" not in roles or "assistant" not in roles:
            raise SpecError(f"conversation {transcript.id} is not an instructor/executor role-play")
        limits = transcript.limits
        turn = transcript.messages[-1].turn
        spent = transcript.usage.prompt_tokens + transcript.usage.completion_tokens
        extra_budget = token_budget if token_budget is not None else limits.get("token_budget")
        base_id, _, generation = transcript.id.partition("-r")
        roleplay = cls(
            transcript.task.original,
            assistant_role=roles["assistant"],
            user_role=roles["user"],
            model=model,
            assistant_model=assistant_model,
            user_model=user_model,
            graph=TaskGraph.from_node_link(transcript.task_graph),
            max_turns=turn + (max_turns or limits.get("max_turns") or 10),
            token_budget=spent + extra_budget if extra_budget is not None else None,
            seed=transcript.seed,
            done_token=transcript.done_token or DONE_TOKEN,
            id=f"{base_id}-r{int(generation or 0) + 1}",
            **options,
        )
        roleplay._restore(transcript)
        return roleplay

    def _restore(self, saved: Transcript) -> None:
        self._has_plan = bool(saved.task_graph and saved.task_graph.get("graph", {}).get("planned"))
        self._cast(saved.task.specified or saved.task.original)
        self.messages = [message.model_copy() for message in saved.messages]
        self.events = [event.model_copy() for event in saved.events]
        self.turn = self.messages[-1].turn
        self.usage = Usage(prompt_tokens=saved.usage.prompt_tokens, completion_tokens=saved.usage.completion_tokens)
        transcript = self.transcript
        transcript.parent_id = saved.id
        transcript.task = saved.task.model_copy()
        transcript.agents = [agent.model_copy() for agent in saved.agents]
        transcript.kickoff = saved.kickoff
        transcript.messages, transcript.events = self.messages, self.events
        self._event("resumed", parent_id=saved.id, previous=saved.termination.reason if saved.termination else None)
        if self.graph.active is None:
            self._start_next()

    # -- running --------------------------------------------------------------------------

    def run(self) -> Transcript:
        """Hold the whole conversation and return its transcript (blocking)."""

        async def run_and_release() -> Transcript:
            try:
                return await self.arun()
            finally:
                await self.release()

        return asyncio.run(run_and_release())

    async def release(self) -> None:
        """Close the models' connections (their pools belong to the current event loop)."""
        for model in {id(m): m for m in (self.user_model, self.assistant_model) if m is not None}.values():
            await model.aclose()

    async def arun(self) -> Transcript:
        """Hold the whole conversation and return its transcript."""
        async for _ in self.stream():
            pass
        return self.transcript

    def __iter__(self) -> Iterator[Message]:
        raise TypeError("iterate with 'async for message in roleplay.stream()'")

    async def stream(self) -> AsyncIterator[Message]:
        """Yield each message as it is spoken; :attr:`transcript` holds the result at the end.

        A model failure ends the conversation with reason ``error`` (no exception);
        cancellation ends it with ``interrupted`` and is re-raised.
        """
        self._started = time.monotonic()
        try:
            if self.instructor is None:
                await self._prepare()
            async for message in self._dialogue():
                yield message
        except RunError as exc:
            self._finish("error", detail=str(exc), error=exc)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._finish("interrupted", detail="the run was cancelled")
            raise
        except Exception as exc:
            self._finish("error", detail=f"{type(exc).__name__}: {exc}", error=exc)
            raise

    @property
    def planned(self) -> bool:
        """Whether the conversation works through declared or planned subtasks (not a one-node graph)."""
        return self._has_plan

    def close(self, reason: str = "interrupted", *, detail: str | None = None) -> Transcript:
        """End the conversation now with ``reason`` unless it already ended; return the transcript."""
        self._finish(reason, detail=detail)
        return self.transcript

    async def _prepare(self) -> None:
        task = self.task
        if self.specify_task:
            task = await self._specify()
            self.transcript.task.specified = task
            if not self._has_plan:
                self._use_graph(TaskGraph.single(task))
        if self.plan:
            await self._plan(task)
        self._cast(task)
        self.transcript.agents += [
            AgentInfo(**self.instructor.describe()),  # type: ignore[union-attr]
            AgentInfo(**self.executor.describe()),  # type: ignore[union-attr]
        ]
        first = self._start_next()
        self.transcript.kickoff = (
            prompt("kickoff_subtask", {"subtask": first.title}) if self._has_plan and first else prompt("kickoff", {})
        )

    def _cast(self, task: str) -> None:
        """Create the instructor and executor for ``task`` (the specified one, if any)."""
        plan = [subtask.title for subtask in self.graph] if self._has_plan else None
        shared: dict[str, Any] = {
            "task": task,
            "done_token": self.done_token,
            "params": self.params,
            "context_tokens": self.context_tokens,
        }
        self.instructor = self.instructor_cls(
            self.user_role, assistant_role=self.assistant_role, model=self.user_model, plan=plan, **shared
        )
        self.executor = self.executor_cls(
            self.assistant_role, user_role=self.user_role, model=self.assistant_model, **shared
        )

    def _use_graph(self, graph: TaskGraph) -> None:
        self.graph = graph
        graph.subscribe(self._record_status)

    async def _plan(self, task: str) -> None:
        planner = Planner(
            assistant_role=self.assistant_role,
            user_role=self.user_role,
            model=self.user_model,
            max_subtasks=self.max_subtasks,
            params=GenerationParams(seed=self.seed) if self.seed is not None else None,
            context_tokens=self.context_tokens,
        )
        self.transcript.agents.append(AgentInfo(**planner.describe()))
        outcome = await planner.plan(task)
        self.usage = self.usage + outcome.usage
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
            word_limit=self.word_limit,
            params=GenerationParams(max_tokens=max(64, self.word_limit * 3), seed=self.seed),
        )
        self.transcript.agents.append(AgentInfo(**specifier.describe()))
        completion = await specifier.step([Said(NARRATOR, specifier.request(self.task))])
        self._meter(completion)
        self._event("task_specified", agent=specifier.name, usage=completion.usage.model_dump())
        return completion.text or self.task

    async def _dialogue(self) -> AsyncIterator[Message]:
        assert self.instructor is not None and self.executor is not None
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "user" and not self.instructor.is_done(last.content):
            # Resumed after the instructor spoke: the executor owes an answer first.
            if (reason := self._limit_reached()) is not None:
                self._finish(reason)
                return
            yield await self._speak(self.executor, self._executor_view())
        while True:
            if self._close_overdue_subtask():
                return
            reason = "max_turns" if self.turn >= self.max_turns else self._limit_reached()
            if reason is not None:
                self._finish(reason)
                return
            self.turn += 1
            active = self.graph.active
            if active is not None:
                active.turns += 1
            instruction = await self._speak(self.instructor, self._instructor_view())
            yield instruction
            if self.instructor.is_done(instruction.content):
                if active is not None:
                    self.graph.complete(active.id, result=f"done at turn {self.turn}")
                    if self._advance(finished=active, outcome="done"):
                        return
                continue
            if (reason := self._limit_reached()) is not None:
                self._finish(reason)
                return
            yield await self._speak(self.executor, self._executor_view())

    async def _speak(self, agent: Agent, view: list[Said]) -> Message:
        completion = await agent.step(view)
        self._meter(completion)
        message = Message(
            index=len(self.messages),
            turn=self.turn,
            speaker=agent.name,
            role="user" if agent.kind == "user" else "assistant",
            content=completion.text,
            model=completion.model or (agent.model.name if agent.model else None),
            usage=completion.usage,
            latency_ms=completion.latency_ms,
            finish_reason=completion.finish_reason,
            retries=completion.retries,
            response_id=completion.response_id,
        )
        self.messages.append(message)
        self.transcript.messages = self.messages
        return message

    # -- views ----------------------------------------------------------------------------

    def _instructor_view(self) -> list[Said]:
        notes: dict[int, list[str]] = {}
        for event in self.events:
            if event.kind == "instructor_note":
                extra = event.model_extra or {}
                notes.setdefault(int(extra["at"]), []).append(str(extra["text"]))
        view = [Said(NARRATOR, self.transcript.kickoff or "")]
        for message in self.messages:
            view += [Said(NARRATOR, note) for note in notes.get(message.index, ())]
            view.append(Said(message.speaker, message.content))
        view += [Said(NARRATOR, note) for note in notes.get(len(self.messages), ())]
        return view

    def _executor_view(self) -> list[Said]:
        assert self.instructor is not None
        return [
            Said(message.speaker, message.content)
            for message in self.messages
            if not (message.role == "user" and self.instructor.is_done(message.content))
        ]

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

    def _record_status(self, subtask: Subtask) -> None:
        self._event("task_status", task=subtask.id, status=subtask.status)

    # -- limits and bookkeeping -----------------------------------------------------------

    def _limit_reached(self) -> str | None:
        """The budget that has run out, if any (checked before every model call)."""
        if self.token_budget is not None and self.usage.total_tokens >= self.token_budget:
            return "token_budget"
        if self.timeout is not None and time.monotonic() - self._started >= self.timeout:
            return "timeout"
        return None

    def _meter(self, completion: Completion) -> None:
        self.usage = self.usage + completion.usage

    def _event(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(turn=self.turn, kind=kind, **fields))
        self.transcript.events = self.events

    def _finish(self, reason: str, *, detail: str | None = None, error: BaseException | None = None) -> None:
        if self.transcript.termination is not None:
            return
        transcript = self.transcript
        transcript.status = "failed" if reason in FAILED_REASONS else "ok"
        transcript.termination = Termination(reason=reason, turn=self.turn, detail=detail)
        transcript.finished_at = utc_now()
        transcript.messages = self.messages
        transcript.events = self.events
        transcript.usage = TotalUsage(
            prompt_tokens=self.usage.prompt_tokens, completion_tokens=self.usage.completion_tokens
        )
        transcript.task_graph = self.graph.to_node_link()
        transcript.task_graph["graph"]["planned"] = self._has_plan
        if error is not None:
            transcript.error = ErrorInfo(type=type(error).__name__, message=str(error))
        log.info("conversation %s ended: %s at turn %d", transcript.id, reason, self.turn)
