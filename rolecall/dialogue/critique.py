"""The critic stage of a turn: a first draft that answers is picked among candidates or reviewed.

``pick`` draws more candidates (each with its own seed) and lets the critic, a person or a
judge choose; ``review`` sends the draft back with the critic's feedback until it is approved
or the revisions run out. A draft that calls tools goes through untouched, and the other
candidates are drawn without tools. The critic's calls are metered; each choice is an event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import cast

from rolecall.agents.base import Agent
from rolecall.agents.critic import Critic, JudgeCritic
from rolecall.dialogue.recorder import Recorder
from rolecall.judges.base import Dialogue, dialogue_of, in_context
from rolecall.judges.base import Side as JudgedSide
from rolecall.judges.base import Verdict as JudgeVerdict
from rolecall.models.base import Completion, GenerationParams, derived_seed
from rolecall.models.streaming import listening
from rolecall.tools.protocol import ToolOffer
from rolecall.transcripts.perspective import NARRATOR, Said

#: One metered draft of ``agent`` over a view, sampled as the params say, offered the tools given.
Draw = Callable[[Agent, list[Said], GenerationParams | None, ToolOffer | None], Awaitable[Completion]]


def candidate_seed(seed: int | None, number: int) -> GenerationParams | None:
    """Sampling parameters of the ``number``-th candidate (the first is the draft itself): a seed of its own."""
    return None if number == 0 else GenerationParams(seed=derived_seed(seed or 0, "candidate", number))


class Critique:
    """The critic a conversation was given, applied to the answers it reads."""

    def __init__(
        self,
        critic: Critic | JudgeCritic | None,
        recorder: Recorder,
        meter: Callable[[Completion], Completion],
        *,
        task: str,
        seed: int | None,
    ) -> None:
        self.critic = critic
        self.recorder = recorder
        self.meter = meter  # the critic's own calls are counted like every other
        self.task = task
        self.seed = seed

    def reads(self, agent: Agent) -> bool:
        """Whether the critic reads ``agent``'s answers (a person's turn is theirs: never)."""
        return self.critic is not None and self.critic.applies_to(agent) and not agent.human

    async def improve(
        self, agent: Agent, view: list[Said], first: Completion, offer: ToolOffer | None, draw: Draw
    ) -> tuple[Completion, JudgeVerdict | None]:
        """The answer to record in place of ``first``, and the judge's verdict on it when a judge chose it."""
        critic = self.critic
        if critic is None or not self.reads(agent) or first.tool_calls:
            return first, None
        answering = replace(offer, may_call=False) if offer is not None else None
        if isinstance(critic, JudgeCritic) or critic.settings.mode == "pick":
            candidates = [first]
            for number in range(1, critic.settings.candidates):
                candidates.append(await draw(agent, view, candidate_seed(self.seed, number), answering))
            if isinstance(critic, JudgeCritic):
                return await self._choose_by_judge(critic, agent, candidates)
            return await self._pick(critic, agent, view, candidates), None
        return await self._review(critic, agent, view, first, offer=answering, draw=draw), None

    async def _pick(self, critic: Critic, agent: Agent, view: list[Said], candidates: list[Completion]) -> Completion:
        with listening(None):  # the critic's own calls are not the agent's reply
            choice, judged = await critic.pick(_context(agent, view), agent.name, [c.text for c in candidates])
        self.meter(judged)
        self.recorder.event(
            "critic", mode="pick", speaker=agent.name, choice=choice, candidates=[c.text for c in candidates]
        )
        return candidates[choice]

    async def _review(
        self, critic: Critic, agent: Agent, view: list[Said], first: Completion, *, offer: ToolOffer | None, draw: Draw
    ) -> Completion:
        completion, context = first, _context(agent, view)
        for _ in range(critic.settings.max_revisions):
            with listening(None):
                approved, feedback, judged = await critic.review(context, agent.name, completion.text)
            self.meter(judged)
            self.recorder.event(
                "critic", mode="review", speaker=agent.name, approved=approved, feedback=feedback or None,
                **({} if approved else {"rejected": completion.text}),
            )  # fmt: skip
            if approved:
                break
            view = [*view, Said(NARRATOR, f"Revise your reply. A reviewer says: {feedback}")]
            completion = await draw(agent, view, None, offer)
        return completion

    async def _choose_by_judge(
        self, critic: JudgeCritic, agent: Agent, candidates: list[Completion]
    ) -> tuple[Completion, JudgeVerdict]:
        """The candidate the judge scores highest, each read as the next turn of the dialogue so far."""
        so_far = dialogue_of(self.recorder.transcript)
        side = cast("JudgedSide", agent.kind if agent.kind in ("user", "assistant") else "assistant")
        turns = [
            list(in_context(Dialogue(self.task, [*(so_far.turns if so_far else ()), (side, c.text)])))[-1]
            for c in candidates
        ]
        choice, verdicts = await critic.choose(turns)
        self.recorder.event(
            "critic", mode="pick", by="judge", judge=critic.judge.name, speaker=agent.name, choice=choice,
            candidates=[c.text for c in candidates], scores=[round(v.score, 4) for v in verdicts],
        )  # fmt: skip
        return candidates[choice], verdicts[choice]


def _context(agent: Agent, view: list[Said]) -> str:
    """What the critic reads the reply against: the latest line someone else said."""
    return next((said.content for said in reversed(view) if said.speaker != agent.name), "")
