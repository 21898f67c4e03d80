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
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from rolecall.agents.base import Agent
from rolecall.agents.human import HumanAgent, Person, Quit, Undo
from rolecall.critic import Critic, HumanCritic, JudgeCritic
from rolecall.errors import RunError, SpecError
from rolecall.guards import Guard, Side, Turn, Verdict, action_of, first_verdict
from rolecall.guards import build as build_guards
from rolecall.judges import open_judge
from rolecall.judges.base import Dialogue, Judge, dialogue_of, in_context
from rolecall.judges.base import Side as JudgedSide
from rolecall.judges.base import Verdict as JudgeVerdict
from rolecall.judges.recorded import VERDICT_EVENT, verdict_event
from rolecall.models.base import ChatModel, Completion, GenerationParams, ToolCall, Usage
from rolecall.models.meter import Meter
from rolecall.models.streaming import Listener, listening
from rolecall.settings import Settings, Spent
from rolecall.tasks.graph import Subtask, TaskGraph
from rolecall.tools.protocol import ToolOffer, route_for
from rolecall.tools.toolbox import Toolkit, ToolSource
from rolecall.transcripts.perspective import NARRATOR, Said, lines_for
from rolecall.transcripts.record import (
    FAILED_REASONS,
    AgentInfo,
    ErrorInfo,
    Event,
    Message,
    TaskText,
    Termination,
    ToolInfo,
    TotalUsage,
    Transcript,
    utc_now,
)

log = logging.getLogger(__name__)


#: What a tool call repeated verbatim within one turn is answered with (it is not run again).
_REPEATED = "repeated call: this exact call was already made in this turn"


def _calls_text(completion: Completion) -> str:
    """A draft's tool calls as text, for the guard event that rejected them."""
    return "\n".join(json.dumps({"tool": call.name, "arguments": call.arguments}) for call in completion.tool_calls)


class GuardStop(Exception):
    """A guard's verdict ended the conversation (after re-asks, or at once)."""

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
        settings: Settings,
        graph: TaskGraph | None = None,
        critic_model: ChatModel | None = None,
        tools: Mapping[str, Sequence[ToolSource]] | None = None,
        person: Person | None = None,
        judge: Judge | None = None,
    ) -> None:
        """Subclasses set up their agents' models first: :attr:`models` is read here.

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
        self._critic_judge = judge
        self._own_judge: Judge | None = None  # a judge this conversation opened, closed by release()
        self._picked: tuple[str, JudgeVerdict] | None = None  # the judge critic's choice, recorded with its message
        self.settings.check_prices(model.name for model in self._every_model())
        #: Sampling parameters every agent starts from; the seed, when given, is one of them.
        seed = GenerationParams(seed=self.settings.seed) if self.settings.seed is not None else None
        self.params = self.settings.params.merged(seed)
        self.guards = build_guards(self.settings.guards)
        self._actions = {guard.name: action_of(self.settings.guards, type(guard)) for guard in self.guards}
        self.toolkit = Toolkit(tools or {}, self.settings.tool_settings)
        self._offers: dict[str, ToolOffer] = {}
        self.critic = self._make_critic()
        self.meter = Meter(self.settings.price_table())
        self.turn = 0
        self.messages: list[Message] = []
        self.events: list[Event] = []
        self._has_plan = graph is not None
        self.graph = graph.validate() if graph is not None else TaskGraph.single(self.task)
        self.graph.subscribe(self._record_status)
        self._last_progress_turn = 0
        self._prepared = False
        self._shown = 0  # messages stream() has yielded
        self._undos = 0  # exchanges a person took back: each gives the models a fresh draw
        #: Who watches replies being written, by speaker: set it to stream tokens to a live view.
        self.watch: Callable[[str], Listener] | None = None
        self._started = time.monotonic()
        self.transcript = Transcript(
            id=id,
            task=TaskText(original=self.task),
            seed=self.settings.seed,
            done_token=self.settings.done_token,
            settings=self.settings.model_dump(mode="json"),
            defaults_applied=defaults_applied,
        )
        if self.critic is not None:
            self.transcript.agents.append(AgentInfo(**self.critic.describe()))

    @property
    def done_token(self) -> str:
        return self.settings.done_token

    @property
    def usage(self) -> Usage:
        """Tokens spent so far, by every call (hidden ones included)."""
        return self.meter.usage

    def _make_critic(self) -> Critic | JudgeCritic | None:
        settings = self.settings.critic
        if settings is None:
            return None
        if settings.by == "judge":
            if self._critic_judge is None:
                self._critic_judge = self._own_judge = open_judge(settings.judge)
            return JudgeCritic(settings, self._critic_judge)
        if settings.by == "human":
            if self.person is None:
                raise SpecError("critic: by: human needs a person: hold it with `rolecall run`, or pass person=")
            return HumanCritic(settings, task=self.task, person=self.person)
        return Critic(settings, task=self.task, model=self.critic_model)

    @property
    def critic_model(self) -> ChatModel | None:
        """The model the critic uses: the one given, or the first of :attr:`models`."""
        return self._critic_model or next(iter(self.models), None)

    #: Whether this kind of conversation can plan its own task graph (a role-play can).
    can_plan: bool = False

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

    @property
    def planned(self) -> bool:
        """Whether the conversation works through declared or planned subtasks (not a one-node graph)."""
        return self._has_plan

    # -- agents and their tools -----------------------------------------------------------

    def _equip(self, agent: Agent) -> None:
        """Give ``agent`` its tools (when it has any): the offer for its drafts and the note in its system prompt."""
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox:
            offer = ToolOffer(tuple(toolbox.specs()), route_for(agent.model, self.settings.tool_settings.protocol))
            self._offers[agent.name] = offer
            agent.system_prompt = agent.system_prompt + offer.note

    def _describe(self, agent: Agent) -> AgentInfo:
        """``agent`` as the transcript records it, with the tools it was offered (datasets write calls
        natively: the record keeps the note it was shown and the native one, to swap them)."""
        toolbox, offer = self.toolkit.toolbox(agent.name), self._offers.get(agent.name)
        tools = [ToolInfo(**tool.info()) for tool in toolbox.tools.values()] if toolbox else []
        return AgentInfo(**agent.describe(), tools=tools, tool_prompt=offer.prompt_record() if offer else None)

    # -- one agent speaking ---------------------------------------------------------------

    async def _speak(self, agent: Agent, view: list[Said], *, side: Side, others: Sequence[str] = ()) -> Message:
        """Ask ``agent`` for its next message; guards and the critic have their say first.

        An agent with tools may call them first, up to ``tool_settings.calls_per_turn``
        calls: each call and each result is recorded and added to its view, and it is asked
        again until it answers. The answer is returned.
        """
        offer = self._offers.get(agent.name)
        calls = 0
        results: dict[str, Message] = {}  # this turn's results, by call (name and arguments)
        while True:
            if offer is not None:
                offer = replace(offer, may_call=calls < self.settings.tool_settings.calls_per_turn)
            try:
                message = await self._reply(agent, view, side=side, others=others, offer=offer)
            except Undo:
                self._take_back(agent)
                view = lines_for(self.transcript, name=agent.name, kind=agent.kind)
                continue
            if not message.tool_calls:
                return message
            view = [*view, Said(agent.name, message.content, tuple(message.tool_calls))]
            for call in message.tool_calls:
                key = json.dumps([call.name, call.arguments], sort_keys=True)
                earlier = results.get(key)
                if earlier is None:
                    result = results[key] = await self._run_call(agent, call)
                    calls += 1
                else:  # the very same call again: not run twice, and the agent is asked for its answer
                    text = f"{_REPEATED}; its result was: {earlier.content}"
                    result = self._record_result(agent, call, text, _REPEATED)
                    calls = self.settings.tool_settings.calls_per_turn
                failed = result.error is not None
                view.append(Said(agent.name, result.content, call_id=call.id, tool=call.name, failed=failed))

    async def _reply(
        self, agent: Agent, view: list[Said], *, side: Side, others: Sequence[str], offer: ToolOffer | None
    ) -> Message:
        """One recorded message of ``agent`` (an answer, or tool calls), re-asked while a guard objects.

        A plain loop, not a retry library: it runs once per reply, and on the hot path of every turn.
        """
        reminders: list[Said] = []
        narrowed: GenerationParams | None = None
        allowed = self.settings.guards.max_reasks + 1
        for attempt in range(1, allowed + 1):
            retry = agent.params.retry(attempt)
            if retry is None and self._undos and agent.params.seed is not None:  # a new draw after an undo
                retry = GenerationParams(seed=(agent.params.seed + 104_729 * self._undos) % 2**32)
            if narrowed is not None:
                retry = narrowed if retry is None else retry.merged(narrowed)
            with listening(self.watch(agent.name) if self.watch is not None else None):
                completion = await self._draft(agent, view + reminders, retry=retry, offer=offer)
            verdict = self._judge(agent, completion, side, others)
            if verdict is None:
                return self._record(agent, completion, side=side, reasks=attempt - 1)
            if attempt == allowed:
                self._guard_event(verdict, "stop", agent)
                raise GuardStop(verdict)
            reminders = [Said(NARRATOR, verdict.reminder)]
            # A narrowing holds for the rest of the turn: a later re-ask for another guard keeps it.
            narrower = agent.reask_params(verdict.guard)
            if narrower is not None:
                narrowed = narrower if narrowed is None else narrowed.merged(narrower)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _judge(self, agent: Agent, completion: Completion, side: Side, others: Sequence[str]) -> Verdict | None:
        """Run the guards: ``None`` to accept, or raise to re-ask / stop.

        A reply that calls tools is judged by the guards that judge calls (``bad_tool_call``:
        an unknown tool, arguments that do not fit); an answer by all the others.
        """
        calling = bool(completion.tool_calls)
        guards: list[Guard] = [guard for guard in self.guards if guard.judges_calls == calling]
        if not guards:
            return None
        history = [(message.speaker, message.content) for message in self.messages[-24:] if message.is_dialogue]
        problems = self._call_problems(agent, completion.tool_calls) if calling else ()
        turn = Turn(
            completion.text, agent.name, side, self.done_token, history[-12:], others,
            calls=tuple(completion.tool_calls), problems=problems,
        )  # fmt: skip
        verdict = first_verdict(guards, turn)
        if verdict is None:
            return None
        rejected = completion.text if not calling else _calls_text(completion)
        if isinstance(agent, HumanAgent):  # a person is told, never asked again
            self._guard_event(verdict, "flag", agent)
            agent.notice(f"{verdict.guard}: {verdict.detail} (a model would have been asked again)")
            return None
        action = self._actions[verdict.guard]
        if action == "flag":
            self._guard_event(verdict, "flag", agent)
            return None
        if action == "stop":
            self._guard_event(verdict, "stop", agent, rejected=rejected)
            raise GuardStop(verdict)
        self._guard_event(verdict, "reask", agent, rejected=rejected)
        return verdict

    def _call_problems(self, agent: Agent, calls: Sequence[ToolCall]) -> tuple[str, ...]:
        """What is wrong with each of ``agent``'s calls that cannot run (an unknown tool, arguments that do not fit)."""
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox is None:
            return (f"{agent.name} has no tools",)
        return tuple(problem for call in calls if (problem := toolbox.check(call)) is not None)

    def _guard_event(self, verdict: Verdict, action: str, agent: Agent, rejected: str | None = None) -> None:
        fields: dict[str, Any] = {"guard": verdict.guard, "action": action, "speaker": agent.name}
        fields["detail"] = verdict.detail
        if rejected is not None:
            fields["rejected"] = rejected
        self._event("guard", **fields)

    async def _draft(
        self,
        agent: Agent,
        view: list[Said],
        *,
        retry: GenerationParams | None = None,
        offer: ToolOffer | None = None,
    ) -> Completion:
        """One reply from ``agent`` (sampled as ``retry`` says on a re-ask), chosen or reviewed by the critic.

        The critic judges answers: a draft that calls tools goes through as it is, and the
        other candidates of a pick are drawn without tools.
        """
        critic = self.critic if self.critic is not None and self.critic.applies_to(agent) else None
        if agent.human:  # a person's turn is theirs: no candidates drawn, no review
            critic = None
        first = self._meter(await agent.step(view, params=retry, tools=offer))
        if critic is None or first.tool_calls:
            return first
        answering = replace(offer, may_call=False) if offer is not None else None
        context = next((said.content for said in reversed(view) if said.speaker != agent.name), "")
        if isinstance(critic, JudgeCritic):
            candidates = [first]
            for number in range(1, critic.settings.candidates):
                candidates.append(self._meter(await agent.step(view, params=self._variant(number), tools=answering)))
            return await self._pick_by_judge(critic, agent, candidates)
        if critic.settings.mode == "pick":
            candidates = [first]
            for number in range(1, critic.settings.candidates):
                candidates.append(self._meter(await agent.step(view, params=self._variant(number), tools=answering)))
            with listening(None):  # the critic's own calls are not the agent's reply
                choice, judged = await critic.pick(context, agent.name, [c.text for c in candidates])
            self._meter(judged)
            self._event(
                "critic", mode="pick", speaker=agent.name, choice=choice, candidates=[c.text for c in candidates]
            )
            return candidates[choice]
        completion = first
        for _ in range(critic.settings.max_revisions):
            with listening(None):
                approved, feedback, judged = await critic.review(context, agent.name, completion.text)
            self._meter(judged)
            self._event(
                "critic", mode="review", speaker=agent.name, approved=approved, feedback=feedback or None,
                **({} if approved else {"rejected": completion.text}),
            )  # fmt: skip
            if approved:
                break
            view = [*view, Said(NARRATOR, f"Revise your reply. A reviewer says: {feedback}")]
            completion = self._meter(await agent.step(view, tools=answering))
        return completion

    async def _pick_by_judge(self, critic: JudgeCritic, agent: Agent, candidates: list[Completion]) -> Completion:
        """The candidate ``critic``'s judge scores highest, each read as the next turn of the dialogue so far."""
        so_far = dialogue_of(self.transcript)
        side = cast("JudgedSide", agent.kind if agent.kind in ("user", "assistant") else "assistant")
        turns = [
            list(in_context(Dialogue(self.task, [*(so_far.turns if so_far else ()), (side, c.text)])))[-1]
            for c in candidates
        ]
        choice, verdicts = await critic.choose(turns)
        self._event(
            "critic", mode="pick", by="judge", judge=critic.judge.name, speaker=agent.name, choice=choice,
            candidates=[c.text for c in candidates], scores=[round(v.score, 4) for v in verdicts],
        )  # fmt: skip
        self._picked = (candidates[choice].text, verdicts[choice])
        return candidates[choice]

    def _variant(self, number: int) -> GenerationParams | None:
        """Sampling parameters for the critic's ``number``-th candidate (a distinct seed)."""
        if number == 0:
            return None
        return GenerationParams(seed=(self.settings.seed or 0) * 1000 + number)

    def _record(self, agent: Agent, completion: Completion, *, side: Side, reasks: int) -> Message:
        index = len(self.messages)
        calls = [
            call if call.id else call.model_copy(update={"id": f"call_{index}_{number}"})
            for number, call in enumerate(completion.tool_calls)
        ]
        message = Message(
            index=index,
            turn=self.turn,
            speaker=agent.name,
            role="user" if side == "user" else "assistant",
            content=completion.text,
            tool_calls=calls or None,
            model=completion.model or (agent.model.name if agent.model else None),
            usage=completion.usage,
            latency_ms=completion.latency_ms,
            first_token_ms=completion.first_token_ms,
            finish_reason=completion.finish_reason,
            retries=completion.retries,
            reasks=reasks,
            response_id=completion.response_id,
        )
        if self._picked is not None and self._picked[0] == completion.text and side in ("user", "assistant"):
            self._event(VERDICT_EVENT, **verdict_event(agent.name, index, side, self._picked[1]))
        self._picked = None
        return self._append(message)

    def _append(self, message: Message) -> Message:
        self.messages.append(message)
        self.transcript.messages = self.messages
        return message

    async def _run_call(self, agent: Agent, call: ToolCall) -> Message:
        """Run one of ``agent``'s tool calls and record its result as a ``tool`` message."""
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox is None:  # a model that calls tools it was never offered (with bad_tool_call off)
            problem = f"{agent.name} has no tools"
            return self._record_result(agent, call, f"error: {problem}", problem)
        result = await toolbox.run(call)
        return self._record_result(agent, call, result.content, result.error, latency_ms=result.latency_ms)

    def _record_result(
        self, agent: Agent, call: ToolCall, content: str, error: str | None, *, latency_ms: float = 0.0
    ) -> Message:
        """Record the result of ``agent``'s ``call`` as a ``tool`` message (spoken on the caller's side)."""
        return self._append(
            Message(
                index=len(self.messages), turn=self.turn, speaker=agent.name, role="tool", content=content,
                tool_call_id=call.id, name=call.name, error=error, latency_ms=latency_ms,
            )
        )  # fmt: skip

    def _take_back(self, agent: Agent) -> None:
        """Undo ``agent``'s last exchange: its last turn and every message after it (kept in an ``undo`` event).

        An exchange that moved the task graph stays: the subtask it closed cannot be reopened.
        """
        assert isinstance(agent, HumanAgent), "only a person's turn can be taken back"
        spoken = [message for message in self.messages if message.speaker == agent.name and message.is_dialogue]
        if not spoken:
            agent.notice("nothing to take back yet")
            return
        first = spoken[-1]
        moved = [event for event in self.events if event.kind == "task_status" and event.turn >= first.turn > 0]
        if moved:
            agent.notice("that exchange finished a subtask: it cannot be taken back")
            return
        removed = self.messages[first.index :]
        self._event("undo", speaker=agent.name, messages=[message.model_dump(mode="json") for message in removed])
        del self.messages[first.index :]
        self._shown = min(self._shown, len(self.messages))
        if self.graph.active is not None:
            self.graph.active.turns = max(0, self.graph.active.turns - (self.turn - first.turn))
        self.turn = first.turn
        self._undos += 1
        agent.notice(f"took back {len(removed)} message(s); turn {self.turn} again")

    # -- limits and bookkeeping -----------------------------------------------------------

    def _limit_reached(self, *, new_turn: bool = False) -> str | None:
        """The limit that has been reached, if any (checked before every turn and reply)."""
        spent = Spent(
            turns=self.turn,
            tokens=self.meter.tokens,
            cost_usd=self.meter.cost_usd,
            seconds=time.monotonic() - self._started,
            turns_without_progress=self.turn - self._last_progress_turn,
        )
        return self.settings.limit_reached(spent, new_turn=new_turn)

    def _meter(self, completion: Completion) -> Completion:
        """Count a call's tokens and cost; every call goes through here, hidden ones too."""
        return self.meter.add(completion)

    def _event(self, kind: str, **fields: Any) -> None:
        self.events.append(Event(turn=self.turn, kind=kind, **fields))
        self.transcript.events = self.events

    def _record_status(self, subtask: Subtask) -> None:
        self._last_progress_turn = self.turn
        self._event("task_status", task=subtask.id, status=subtask.status)

    def _finish(self, reason: str, *, detail: str | None = None, error: BaseException | None = None) -> None:
        if self.transcript.termination is not None:
            return
        if reason == "cost_budget" and detail is None and self.meter.cost_usd is None:
            detail = f"no price for {', '.join(sorted(self.meter.unpriced))}: the cost cannot be metered"
        transcript = self.transcript
        transcript.status = "failed" if reason in FAILED_REASONS else "ok"
        transcript.termination = Termination(reason=reason, turn=self.turn, detail=detail)
        transcript.finished_at = utc_now()
        transcript.messages = self.messages
        transcript.events = self.events
        transcript.usage = TotalUsage(
            prompt_tokens=self.meter.usage.prompt_tokens,
            completion_tokens=self.meter.usage.completion_tokens,
            cost_usd=round(self.meter.cost_usd, 8) if self.meter.cost_usd is not None else None,
        )
        transcript.task_graph = self.graph.to_node_link()
        transcript.task_graph["graph"]["planned"] = self._has_plan
        if error is not None:
            transcript.error = ErrorInfo(type=type(error).__name__, message=str(error))
        log.info("conversation %s ended: %s at turn %d", transcript.id, reason, self.turn)
