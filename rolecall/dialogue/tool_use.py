"""The tool-use stage of a turn: which agents hold tools, what they are offered, and running their calls.

An agent with tools is *equipped* once (its offer, and the note in its system prompt); each
call it makes is run through its toolbox and recorded as a ``tool`` message. A call repeated
verbatim within one turn is not run again: it is answered with the earlier result, and the
agent is asked for its answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from rolecall.agents.base import Agent
from rolecall.dialogue.recorder import Recorder
from rolecall.models.base import ToolCall
from rolecall.settings import ToolSettings
from rolecall.tools.protocol import ToolOffer, route_for
from rolecall.tools.toolbox import Toolkit
from rolecall.transcripts.perspective import Said
from rolecall.transcripts.record import AgentInfo, Message, ToolInfo

#: What a tool call repeated verbatim within one turn is answered with (it is not run again).
REPEATED = "repeated call: this exact call was already made in this turn"


class ToolUse:
    """The agents' toolboxes and offers, and the calls of one turn."""

    def __init__(self, toolkit: Toolkit, settings: ToolSettings, recorder: Recorder) -> None:
        self.toolkit = toolkit
        self.settings = settings
        self.recorder = recorder
        self.offers: dict[str, ToolOffer] = {}

    def equip(self, agent: Agent) -> None:
        """Give ``agent`` its tools (when it has any): the offer for its drafts and the note in its system prompt."""
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox:
            offer = ToolOffer(tuple(toolbox.specs()), route_for(agent.model, self.settings.protocol))
            self.offers[agent.name] = offer
            agent.system_prompt = agent.system_prompt + offer.note

    def describe(self, agent: Agent) -> AgentInfo:
        """``agent`` as the transcript records it, with the tools it was offered (datasets write calls
        natively: the record keeps the note it was shown and the native one, to swap them)."""
        toolbox, offer = self.toolkit.toolbox(agent.name), self.offers.get(agent.name)
        tools = [ToolInfo(**tool.info()) for tool in toolbox.tools.values()] if toolbox else []
        return AgentInfo(**agent.describe(), tools=tools, tool_prompt=offer.prompt_record() if offer else None)

    def offer(self, agent: Agent, calls_made: int) -> ToolOffer | None:
        """What ``agent`` is offered for its next draft: its tools, callable while it has calls left this turn."""
        offer = self.offers.get(agent.name)
        return replace(offer, may_call=calls_made < self.settings.calls_per_turn) if offer is not None else None

    def problems(self, agent: Agent, calls: Sequence[ToolCall]) -> tuple[str, ...]:
        """What is wrong with each of ``agent``'s calls that cannot run (an unknown tool, arguments that do not fit)."""
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox is None:
            return (f"{agent.name} has no tools",)
        return tuple(problem for call in calls if (problem := toolbox.check(call)) is not None)

    async def run(self, agent: Agent, message: Message, view: list[Said], turn_results: dict[str, Message]) -> int:
        """Run ``message``'s calls, record each result and add it to ``view``; return how many calls ran.

        ``turn_results`` holds this turn's results by call: a call made again is answered from
        it, and then the agent may call no more this turn (the count returned is the allowance).
        """
        ran = 0
        for call in message.tool_calls or ():
            key = json.dumps([call.name, call.arguments], sort_keys=True)
            earlier = turn_results.get(key)
            if earlier is None:
                result = turn_results[key] = await self._run_one(agent, call)
                ran += 1
            else:
                text = f"{REPEATED}; its result was: {earlier.content}"
                result = self._record(agent, call, text, REPEATED)
                ran = self.settings.calls_per_turn
            view.append(
                Said(agent.name, result.content, call_id=call.id, tool=call.name, failed=result.error is not None)
            )
        return ran

    async def _run_one(self, agent: Agent, call: ToolCall) -> Message:
        toolbox = self.toolkit.toolbox(agent.name)
        if toolbox is None:  # a model that calls tools it was never offered (with bad_tool_call off)
            problem = f"{agent.name} has no tools"
            return self._record(agent, call, f"error: {problem}", problem)
        result = await toolbox.run(call)
        return self._record(agent, call, result.content, result.error, latency_ms=result.latency_ms)

    def _record(
        self, agent: Agent, call: ToolCall, content: str, error: str | None, latency_ms: float = 0.0
    ) -> Message:
        return self.recorder.result(
            agent.name, call_id=call.id, tool=call.name, content=content, error=error, latency_ms=latency_ms
        )
