"""What every conversation shares: the one dialogue loop, its limits, its lifecycle and its record.

A :class:`Conversation` asks its turn policy who speaks next, checks the layered limits before
each turn and reply, has the speaker take its turn through the pipeline (draft, tool use,
critic, guards, record: :mod:`rolecall.dialogue.pipeline`), tells the policy what was said,
and always leaves a complete transcript, also when a model fails, a guard stops it or the run
is cancelled. Kinds of conversation (:class:`~rolecall.dialogue.roleplay.RolePlay`,
:class:`~rolecall.dialogue.society.Society`) cast their agents in :meth:`Conversation._prepare`
and give the policy; nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from rolecall.agents.base import Agent
from rolecall.agents.critic import Critic, HumanCritic, JudgeCritic
from rolecall.agents.human import HumanAgent, Person, Quit
from rolecall.dialogue.critique import Critique
from rolecall.dialogue.guarding import Guarding, GuardStop
from rolecall.dialogue.pipeline import TurnPipeline
from rolecall.dialogue.policy import End, TurnPolicy
from rolecall.dialogue.recorder import Recorder, saved_usage
from rolecall.dialogue.tool_use import ToolUse
from rolecall.errors import RunError, SpecError
from rolecall.judges import open_judge
from rolecall.judges.base import Judge
from rolecall.models.base import ChatModel, Completion, GenerationParams, Usage
from rolecall.models.meter import Meter
from rolecall.models.streaming import Listener
from rolecall.settings import Settings, Spent
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.tools.toolbox import Toolkit, ToolSource
from rolecall.transcripts.perspective import Said, lines_for
from rolecall.transcripts.record import AgentInfo, Event, Message, TaskText, Transcript

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)


class Conversation:
    """A metered, guarded conversation, held by one loop, that ends with a transcript."""

    #: Whether this kind of conversation can plan its own task graph (a role-play can).
    can_plan: bool = False

    def __init__(
        self,
        task: str,
        *,
        id: str,
        settings: Settings,
        graph: TaskGraph | None = None,
        critic_model: ChatModel | None = None,
        tools: Mapping[str, Sequence[ToolSource]] | None = None,
        person: Person | None = None,
        judge: Judge | None = None,
    ) -> None:
        """Kinds of conversation set up their agents' models first: :attr:`models` is read here.

        The critic (when ``settings.critic`` asks for one) uses ``critic_model``, or the first model,
        or ``person`` when it is a human critic, or ``judge`` (else the judge its settings name, opened
        for this conversation) when it picks by a judge. ``tools`` gives agents tools, by agent name; they
        are checked now and opened when the conversation starts.
        """
        if not task.strip():
            raise SpecError("task: must not be blank")
        self.task = task.strip()
        self.settings, defaults_applied = settings.for_model(
            next(iter(self.models), None), can_plan=self.can_plan and graph is None
        )
        self._critic_model = critic_model
        self.person = person
        self._own_judge: Judge | None = None  # a judge this conversation opened, closed by release()
        self.settings.check_prices(model.name for model in self._every_model())
        #: Sampling parameters every agent starts from; the seed, when given, is one of them.
        seed = GenerationParams(seed=self.settings.seed) if self.settings.seed is not None else None
        self.params = self.settings.params.merged(seed)
        self.meter = Meter(self.settings.price_table())
        self.record = Recorder(
            Transcript(
                id=id,
                task=TaskText(original=self.task),
                seed=self.settings.seed,
                done_token=self.settings.done_token,
                settings=self.settings.model_dump(mode="json"),
                defaults_applied=defaults_applied,
            )
        )
        self.toolkit = Toolkit(tools or {}, self.settings.tool_settings)
        self.tools = ToolUse(self.toolkit, self.settings.tool_settings, self.record)
        self.critic = self._make_critic(judge)
        self.pipeline = TurnPipeline(
            self.record,
            tools=self.tools,
            critique=Critique(self.critic, self.record, self._meter, task=self.task, seed=self.settings.seed),
            guarding=Guarding(
                self.settings.guards, self.record, done_token=self.done_token, call_problems=self.tools.problems
            ),
            meter=self._meter,
            take_back=self._take_back,
        )
        self._has_plan = graph is not None
        self.graph = graph.validate() if graph is not None else TaskGraph.single(self.task)
        self.graph.subscribe(self._record_status)
        self._last_progress_turn = 0
        self._prepared = False
        self._resumed = False
        self._shown = 0  # messages stream() has yielded
        self._started = time.monotonic()
        if self.critic is not None:
            self.transcript.agents.append(AgentInfo(**self.critic.describe()))

    # -- what kinds of conversation write -------------------------------------------------

    async def _prepare(self) -> None:
        """Cast the agents and set the scene (called once, before the first message; also on resuming)."""

    @property
    def policy(self) -> TurnPolicy:
        """Who speaks when, and when the conversation is done."""
        raise NotImplementedError

    @property
    def models(self) -> Sequence[ChatModel]:
        """Every model this conversation calls, to release at the end."""
        return ()

    def view_of(self, agent: Agent) -> list[Said]:
        """The dialogue as ``agent`` sees it: its own lines as ``assistant``, the others' as ``user``."""
        return lines_for(self.transcript, name=agent.name, kind=agent.kind)

    # -- the record -----------------------------------------------------------------------

    @property
    def transcript(self) -> Transcript:
        return self.record.transcript

    @property
    def messages(self) -> list[Message]:
        return self.record.messages

    @property
    def events(self) -> list[Event]:
        return self.record.events

    @property
    def turn(self) -> int:
        return self.record.turn

    @property
    def done_token(self) -> str:
        return self.settings.done_token

    @property
    def usage(self) -> Usage:
        """Tokens spent so far, by every call (hidden ones included)."""
        return self.meter.usage

    @property
    def planned(self) -> bool:
        """Whether the conversation works through declared or planned subtasks (not a one-node graph)."""
        return self._has_plan

    @property
    def watch(self) -> Callable[[str], Listener] | None:
        """Who watches replies being written, by speaker: set it to stream tokens to a live view."""
        return self.pipeline.watch

    @watch.setter
    def watch(self, watch: Callable[[str], Listener] | None) -> None:
        self.pipeline.watch = watch

    @property
    def critic_model(self) -> ChatModel | None:
        """The model the critic uses: the one given, or the first of :attr:`models`."""
        return self._critic_model or next(iter(self.models), None)

    def _make_critic(self, judge: Judge | None) -> Critic | JudgeCritic | None:
        settings = self.settings.critic
        if settings is None:
            return None
        if settings.by == "judge":
            if judge is None:
                judge = self._own_judge = open_judge(settings.judge)
            return JudgeCritic(settings, judge)
        if settings.by == "human":
            if self.person is None:
                raise SpecError("critic: by: human needs a person: hold it with `rolecall run`, or pass person=")
            return HumanCritic(settings, task=self.task, person=self.person)
        return Critic(settings, task=self.task, model=self.critic_model)

    # -- running --------------------------------------------------------------------------

    def run(self) -> Transcript:
        """Hold the whole conversation and return its transcript (blocking)."""

        async def run_and_release() -> Transcript:
            try:
                return await self.arun()
            finally:
                await self.release()

        return asyncio.run(run_and_release())

    async def arun(self) -> Transcript:
        """Hold the whole conversation and return its transcript."""
        async for _ in self.stream():
            pass
        return self.transcript

    def __iter__(self) -> Iterator[Message]:
        raise TypeError("iterate with 'async for message in conversation.stream()'")

    async def stream(self) -> AsyncIterator[Message]:
        """Yield each message as it is spoken; :attr:`transcript` holds the result at the end.

        A model failure ends the conversation with reason ``error`` (no exception);
        cancellation ends it with ``interrupted`` and is re-raised.
        """
        self._started = time.monotonic()
        try:
            await self.toolkit.open()
            if not self._prepared:
                await self._prepare()
                self._prepared = True
            async for _ in self._dialogue():
                # Everything recorded since the last yield, tool calls and results included.
                while self._shown < len(self.messages):
                    self._shown += 1
                    yield self.messages[self._shown - 1]
        except GuardStop as stop:
            self._finish(stop.verdict.guard, detail=stop.verdict.detail)
        except Quit:
            self._finish("interrupted", detail="stopped by the person (/quit)")
        except RunError as exc:
            self._finish("error", detail=str(exc), error=exc)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._finish("interrupted", detail="the run was cancelled")
            raise
        except Exception as exc:
            self._finish("error", detail=f"{type(exc).__name__}: {exc}", error=exc)
            raise
        finally:
            await self.toolkit.close()

    async def _dialogue(self) -> AsyncIterator[Message]:
        """The one loop: the policy names the speaker, the limits allow the turn, the speaker speaks."""
        policy = self.policy
        # A resumed conversation goes on after its last line, as if it had just been said.
        last = next((message for message in reversed(self.messages) if message.is_dialogue), None)
        while True:
            step = await policy.next(last)
            if isinstance(step, End):
                self._finish(step.reason, detail=step.detail)
                return
            if (reason := self._limit_reached(new_turn=step.new_turn)) is not None:
                self._finish(reason)
                return
            if step.new_turn:
                self.record.turn += 1
                policy.begin_turn()
            last = await self.pipeline.speak(step.agent, self.view_of(step.agent), side=step.side, others=step.others)
            ending = policy.heard(last)  # before the message is read: whoever reads it sees the graph moved
            yield last
            if ending is not None:
                self._finish(ending.reason, detail=ending.detail)
                return

    async def release(self) -> None:
        """Close the models' connections (their pools belong to the current event loop) and stop tool servers."""
        await self.toolkit.close()
        for model in self._every_model():
            await model.aclose()
        if self._own_judge is not None:
            self._own_judge.__exit__(None, None, None)

    def _every_model(self) -> list[ChatModel]:
        """Each model this conversation calls, once (the agents' and the critic's)."""
        found = [*self.models, self._critic_model] if self._critic_model is not None else [*self.models]
        return list({id(model): model for model in found}.values())

    def close(self, reason: str = "interrupted", *, detail: str | None = None) -> Transcript:
        """End the conversation now with ``reason`` unless it already ended; return the transcript."""
        self._finish(reason, detail=detail)
        return self.transcript

    # -- resuming -------------------------------------------------------------------------

    def restore(self, saved: Transcript) -> Self:
        """Continue ``saved`` from where it stopped: its messages, events, spending and task graph are carried on.

        The agents are cast again from the saved record (:meth:`_prepare` sees :attr:`resumed`).
        """
        self._has_plan = saved.planned
        if saved.task_graph is not None:
            self._use_graph(TaskGraph.from_node_link(saved.task_graph))
        self.record.restore(saved)
        self._shown = len(self.messages)
        usage, cost = saved_usage(saved)
        self.meter = Meter(self.settings.price_table(), usage=usage, cost_usd=cost)
        self._last_progress_turn = self.turn
        self._resumed = True
        return self

    @property
    def resumed(self) -> bool:
        """Whether this conversation continues a saved one (:meth:`restore`)."""
        return self._resumed

    # -- a person's undo --------------------------------------------------------------------

    def _take_back(self, agent: Agent) -> list[Said]:
        """Undo ``agent``'s last exchange: its last turn and every message after it (kept in an ``undo`` event).

        An exchange that moved the task graph stays: the subtask it closed cannot be reopened.
        Returns the dialogue as ``agent`` now sees it.
        """
        assert isinstance(agent, HumanAgent), "only a person's turn can be taken back"
        spoken = [message for message in self.messages if message.speaker == agent.name and message.is_dialogue]
        if not spoken:
            agent.notice("nothing to take back yet")
            return self.view_of(agent)
        first = spoken[-1]
        moved = [event for event in self.events if event.kind == "task_status" and event.turn >= first.turn > 0]
        if moved:
            agent.notice("that exchange finished a subtask: it cannot be taken back")
            return self.view_of(agent)
        removed = self.record.take_back(first.index)
        self.record.event("undo", speaker=agent.name, messages=[message.model_dump(mode="json") for message in removed])
        self._shown = min(self._shown, len(self.messages))
        if self.graph.active is not None:
            self.graph.active.turns = max(0, self.graph.active.turns - (self.turn - first.turn))
        self.record.turn = first.turn
        self.pipeline.undos += 1
        agent.notice(f"took back {len(removed)} message(s); turn {self.turn} again")
        return self.view_of(agent)

    # -- limits and bookkeeping -----------------------------------------------------------

    def _limit_reached(self, *, new_turn: bool = False) -> str | None:
        """The limit that has been reached, if any (checked before every turn and reply)."""
        spent = Spent(
            turns=self.turn,
            messages=len(self.messages),
            tokens=self.meter.tokens,
            cost_usd=self.meter.cost_usd,
            seconds=time.monotonic() - self._started,
            turns_without_progress=self.turn - self._last_progress_turn,
        )
        return self.settings.limit_reached(spent, new_turn=new_turn)

    def _meter(self, completion: Completion) -> Completion:
        """Count a call's tokens and cost; every call goes through here, hidden ones too."""
        return self.meter.add(completion)

    def _use_graph(self, graph: TaskGraph) -> None:
        """Work through ``graph`` from now on (a plan, or the specified task)."""
        self.graph = graph
        graph.subscribe(self._record_status)

    def _record_status(self, subtask: Subtask) -> None:
        self._last_progress_turn = self.turn
        self.record.event("task_status", task=subtask.id, status=subtask.status)

    def _finish(self, reason: str, *, detail: str | None = None, error: BaseException | None = None) -> None:
        if self.record.ended:
            return
        self.record.finish(
            reason, meter=self.meter, graph=self.graph, planned=self._has_plan, detail=detail, error=error
        )
        log.info("conversation %s ended: %s at turn %d", self.transcript.id, reason, self.turn)
