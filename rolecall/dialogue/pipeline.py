"""One agent's turn, in the order every conversation runs it: draft, tool use, critic, guards, record.

The agent drafts. A draft that calls tools has its calls read by the guards that judge calls,
is recorded, and its calls are run (each result recorded and shown to the agent), and the
agent drafts again, until it answers or its calls for the turn run out. An answer goes to the
critic (when one reads this agent), then to the guards: an objection re-asks (a bounded number
of times, with the guard's reminder and any narrowed sampling), and an accepted answer is
recorded and returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rolecall.agents.base import Agent
from rolecall.agents.human import Undo
from rolecall.dialogue.critique import Critique
from rolecall.dialogue.guarding import Guarding, GuardStop
from rolecall.dialogue.recorder import Recorder
from rolecall.dialogue.tool_use import ToolUse
from rolecall.guards import Side
from rolecall.judges.recorded import VERDICT_EVENT, verdict_event
from rolecall.models.base import Completion, GenerationParams, derived_seed
from rolecall.models.streaming import Listener, listening
from rolecall.tools.protocol import ToolOffer
from rolecall.transcripts.perspective import NARRATOR, Said
from rolecall.transcripts.record import Message


class TurnPipeline:
    """The stages of a turn, wired to one conversation's record."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        tools: ToolUse,
        critique: Critique,
        guarding: Guarding,
        meter: Callable[[Completion], Completion],
        take_back: Callable[[Agent], list[Said]],
    ) -> None:
        self.recorder = recorder
        self.tools = tools
        self.critique = critique
        self.guarding = guarding
        self.meter = meter
        self.take_back = take_back  # a person's undo: the view of the dialogue without their last exchange
        self.undos = 0  # exchanges taken back (counted by take_back): each gives the models a fresh draw
        #: Who watches replies being written, by speaker: set it to stream tokens to a live view.
        self.watch: Callable[[str], Listener] | None = None

    async def speak(self, agent: Agent, view: list[Said], *, side: Side, others: Sequence[str] = ()) -> Message:
        """``agent``'s next message, after any tool calls it makes first (each call and result recorded)."""
        calls = 0
        results: dict[str, Message] = {}  # this turn's results, by call (name and arguments)
        while True:
            try:
                message = await self._reply(agent, view, side, others, self.tools.offer(agent, calls))
            except Undo:
                view = self.take_back(agent)
                continue
            if not message.tool_calls:
                return message
            view = [*view, Said(agent.name, message.content, tuple(message.tool_calls))]
            calls += await self.tools.run(agent, message, view, results)

    async def _reply(
        self, agent: Agent, view: list[Said], side: Side, others: Sequence[str], offer: ToolOffer | None
    ) -> Message:
        """One recorded message of ``agent`` (an answer, or tool calls), re-asked while a guard objects.

        A plain loop, not a retry library: it runs once per reply, and on the hot path of every turn.
        """
        reminders: list[Said] = []
        narrowed: GenerationParams | None = None
        allowed = self.guarding.max_reasks + 1
        for attempt in range(1, allowed + 1):
            retry = agent.params.retry(attempt)
            if retry is None and self.undos and agent.params.seed is not None:
                retry = GenerationParams(seed=derived_seed(agent.params.seed, "undo", self.undos))
            if narrowed is not None:
                retry = narrowed if retry is None else retry.merged(narrowed)
            with listening(self.watch(agent.name) if self.watch is not None else None):
                draft = await self.draw(agent, view + reminders, retry, offer)
            answer, judged = await self.critique.improve(agent, view + reminders, draft, offer, self.draw)
            verdict = self.guarding.objection(agent, answer, side, others)
            if verdict is None:
                message = self.recorder.reply(
                    answer, speaker=agent.name, role="user" if side == "user" else "assistant",
                    model=agent.model.name if agent.model else None, reasks=attempt - 1,
                )  # fmt: skip
                if judged is not None and side in ("user", "assistant"):
                    self.recorder.event(VERDICT_EVENT, **verdict_event(agent.name, message.index, side, judged))
                return message
            if attempt == allowed:
                self.guarding.record(verdict, "stop", agent)
                raise GuardStop(verdict)
            reminders = [Said(NARRATOR, verdict.reminder)]
            # A narrowing holds for the rest of the turn: a later re-ask for another guard keeps it.
            narrower = agent.reask_params(verdict.guard)
            if narrower is not None:
                narrowed = narrower if narrowed is None else narrowed.merged(narrower)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def draw(
        self, agent: Agent, view: list[Said], params: GenerationParams | None, offer: ToolOffer | None
    ) -> Completion:
        """One metered draft of ``agent``."""
        return self.meter(await agent.step(view, params=params, tools=offer))
