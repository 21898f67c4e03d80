"""What every conversation shares: metering, limits, guards, the critic, and the transcript.

A :class:`Conversation` owns the one list of messages and the events beside it, meters
every model call (tokens and cost, hidden calls included), checks the layered limits
before each call, runs each reply past the guards (re-asking, flagging or stopping), lets
the critic choose or review where configured, and always leaves a complete transcript.
Subclasses (:class:`~rolecall.roleplay.RolePlay`, :class:`~rolecall.society.Society`)
write ``_prepare`` and ``_dialogue``: who speaks when.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from rolecall.agents.base import Agent, Said
from rolecall.critic import Critic
from rolecall.errors import RunError
from rolecall.guards import GuardSettings, Side, Turn, Verdict, first_verdict
from rolecall.limits import MAX_COST_USD, MAX_SECONDS, MAX_TOKENS, MAX_TURNS
from rolecall.models.base import ChatModel, Completion, GenerationParams, Usage
from rolecall.pricing import PriceTable
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.transcripts.perspective import NARRATOR
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
    utc_now,
)

log = logging.getLogger(__name__)


class Limits(BaseModel):
    """The layered stops; the first one reached ends the conversation."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_turns: int = Field(default=10, gt=0, le=MAX_TURNS)
    token_budget: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    cost_budget: float | None = Field(default=None, gt=0, le=MAX_COST_USD)
    timeout: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    no_progress_turns: int | None = Field(default=None, gt=0, le=MAX_TURNS)


class GuardStop(Exception):
    """A guard's verdict ended the conversation (after re-asks, or at once)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.detail)
        self.verdict = verdict


class _Rejected(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.detail)
        self.verdict = verdict


class Conversation:
    """Shared machinery of a metered, guarded conversation that ends with a transcript."""

    def __init__(
        self,
        task: str,
        *,
        id: str,
        limits: Limits,
        seed: int | None = None,
        done_token: str,
        guards: GuardSettings | None = None,
        critic: Critic | None = None,
        prices: PriceTable | None = None,
        graph: TaskGraph | None = None,
        params: GenerationParams | None = None,
        context_tokens: int | None = None,
    ) -> None:
        if not task.strip():
            raise ValueError("the task is empty")
        self.task = task.strip()
        #: Sampling parameters every agent starts from; the seed, when given, is one of them.
        self.params = (params or GenerationParams()).merged(GenerationParams(seed=seed) if seed is not None else None)
        self.context_tokens = context_tokens
        self.limits = limits
        self.seed = seed
        self.done_token = done_token
        self.guard_settings = guards or GuardSettings()
        self.guards = self.guard_settings.build()
        self.critic = critic
        self.prices = prices or PriceTable()
        self.turn = 0
        self.usage = Usage()
        self.cost: float | None = 0.0
        self.messages: list[Message] = []
        self.events: list[Event] = []
        self._has_plan = graph is not None
        self.graph = graph.validate() if graph is not None else TaskGraph.single(self.task)
        self.graph.subscribe(self._record_status)
        self._last_progress_turn = 0
        self._prepared = False
        self._started = time.monotonic()
        self.transcript = Transcript(
            id=id,
            task=TaskText(original=self.task),
            seed=seed,
            limits=limits.model_dump(),
            done_token=done_token,
            settings={"guards": self.guard_settings.model_dump()},
        )
        if critic is not None:
            self.transcript.agents.append(AgentInfo(**critic.describe()))

    # -- what subclasses write ------------------------------------------------------------

    async def _prepare(self) -> None:
        """Cast the agents and set the scene (called once, before the first message)."""

    def _dialogue(self) -> AsyncIterator[Message]:
        """Yield messages until the conversation ends (calling :meth:`_finish`)."""
        raise NotImplementedError

    @property
    def models(self) -> Sequence[ChatModel]:
        """Every model this conversation calls, to release at the end."""
        return ()

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
            if not self._prepared:
                await self._prepare()
                self._prepared = True
            async for message in self._dialogue():
                yield message
        except GuardStop as stop:
            self._finish(stop.verdict.guard, detail=stop.verdict.detail)
        except RunError as exc:
            self._finish("error", detail=str(exc), error=exc)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._finish("interrupted", detail="the run was cancelled")
            raise
        except Exception as exc:
            self._finish("error", detail=f"{type(exc).__name__}: {exc}", error=exc)
            raise

    async def release(self) -> None:
        """Close the models' connections (their pools belong to the current event loop)."""
        for model in {id(model): model for model in self.models}.values():
            await model.aclose()

    def close(self, reason: str = "interrupted", *, detail: str | None = None) -> Transcript:
        """End the conversation now with ``reason`` unless it already ended; return the transcript."""
        self._finish(reason, detail=detail)
        return self.transcript

    @property
    def planned(self) -> bool:
        """Whether the conversation works through declared or planned subtasks (not a one-node graph)."""
        return self._has_plan

    # -- one agent speaking ---------------------------------------------------------------

    async def _speak(self, agent: Agent, view: list[Said], *, side: Side, others: Sequence[str] = ()) -> Message:
        """Ask ``agent`` for its next message; guards and the critic have their say first."""
        reminders: list[Said] = []
        attempts = 0
        completion: Completion | None = None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.guard_settings.max_reasks + 1),
                retry=retry_if_exception_type(_Rejected),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    completion = await self._draft(agent, view + reminders)
                    verdict = self._judge(agent, completion.text, side, others)
                    if verdict is not None:
                        reminders = [Said(NARRATOR, verdict.reminder)]
                        raise _Rejected(verdict)
        except _Rejected as rejected:
            self._guard_event(rejected.verdict, "stop", agent)
            raise GuardStop(rejected.verdict) from None
        assert completion is not None
        return self._record(agent, completion, side=side, reasks=attempts - 1)

    def _judge(self, agent: Agent, text: str, side: Side, others: Sequence[str]) -> Verdict | None:
        """Run the guards: ``None`` to accept, or raise to re-ask / stop."""
        if not self.guards:
            return None
        history = [(message.speaker, message.content) for message in self.messages[-12:]]
        verdict = first_verdict(self.guards, Turn(text, agent.name, side, self.done_token, history, others))
        if verdict is None:
            return None
        action = self.guard_settings.action(verdict.guard)
        if action == "flag":
            self._guard_event(verdict, "flag", agent)
            return None
        if action == "stop":
            self._guard_event(verdict, "stop", agent, rejected=text)
            raise GuardStop(verdict)
        self._guard_event(verdict, "reask", agent, rejected=text)
        return verdict

    def _guard_event(self, verdict: Verdict, action: str, agent: Agent, rejected: str | None = None) -> None:
        fields: dict[str, Any] = {"guard": verdict.guard, "action": action, "speaker": agent.name}
        fields["detail"] = verdict.detail
        if rejected is not None:
            fields["rejected"] = rejected
        self._event("guard", **fields)

    async def _draft(self, agent: Agent, view: list[Said]) -> Completion:
        """One reply from ``agent``, chosen or reviewed by the critic where it applies."""
        critic = self.critic if self.critic is not None and self.critic.applies_to(agent) else None
        if critic is None:
            return self._meter(await agent.step(view))
        context = next((said.content for said in reversed(view) if said.speaker != agent.name), "")
        if critic.settings.mode == "pick":
            candidates = []
            for number in range(critic.settings.candidates):
                candidates.append(self._meter(await agent.step(view, params=self._variant(number))))
            choice, judged = await critic.pick(context, agent.name, [c.text for c in candidates])
            self._meter(judged)
            self._event(
                "critic", mode="pick", speaker=agent.name, choice=choice, candidates=[c.text for c in candidates]
            )
            return candidates[choice]
        completion = self._meter(await agent.step(view))
        for _ in range(critic.settings.max_revisions):
            approved, feedback, judged = await critic.review(context, agent.name, completion.text)
            self._meter(judged)
            self._event(
                "critic", mode="review", speaker=agent.name, approved=approved, feedback=feedback or None,
                **({} if approved else {"rejected": completion.text}),
            )  # fmt: skip
            if approved:
                break
            view = [*view, Said(NARRATOR, f"Revise your reply. A reviewer says: {feedback}")]
            completion = self._meter(await agent.step(view))
        return completion

    def _variant(self, number: int) -> GenerationParams | None:
        """Sampling parameters for the critic's ``number``-th candidate (a distinct seed)."""
        if number == 0:
            return None
        return GenerationParams(seed=(self.seed or 0) * 1000 + number)

    def _record(self, agent: Agent, completion: Completion, *, side: Side, reasks: int) -> Message:
        message = Message(
            index=len(self.messages),
            turn=self.turn,
            speaker=agent.name,
            role="user" if side == "user" else "assistant",
            content=completion.text,
            model=completion.model or (agent.model.name if agent.model else None),
            usage=completion.usage,
            latency_ms=completion.latency_ms,
            finish_reason=completion.finish_reason,
            retries=completion.retries,
            reasks=reasks,
            response_id=completion.response_id,
        )
        self.messages.append(message)
        self.transcript.messages = self.messages
        return message

    # -- limits and bookkeeping -----------------------------------------------------------

    def _limit_reached(self) -> str | None:
        """The budget that has run out, if any (checked before every turn and reply)."""
        limits = self.limits
        if limits.token_budget is not None and self.usage.total_tokens >= limits.token_budget:
            return "token_budget"
        if limits.cost_budget is not None and self.cost is not None and self.cost >= limits.cost_budget:
            return "cost_budget"
        if limits.timeout is not None and time.monotonic() - self._started >= limits.timeout:
            return "timeout"
        if limits.no_progress_turns is not None and self.turn - self._last_progress_turn >= limits.no_progress_turns:
            return "no_progress"
        return None

    def _meter(self, completion: Completion) -> Completion:
        """Count a call's tokens and cost; every call goes through here, hidden ones too."""
        self.usage = self.usage + completion.usage
        cost = self.prices.cost(completion.model, completion.usage)
        self.cost = None if cost is None or self.cost is None else self.cost + cost
        return completion

    def _event(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(turn=self.turn, kind=kind, **fields))
        self.transcript.events = self.events

    def _record_status(self, subtask: Subtask) -> None:
        self._last_progress_turn = self.turn
        self._event("task_status", task=subtask.id, status=subtask.status)

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
            prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            cost_usd=round(self.cost, 8) if self.cost is not None else None,
        )
        transcript.task_graph = self.graph.to_node_link()
        transcript.task_graph["graph"]["planned"] = self._has_plan
        if error is not None:
            transcript.error = ErrorInfo(type=type(error).__name__, message=str(error))
        log.info("conversation %s ended: %s at turn %d", transcript.id, reason, self.turn)
