"""The critic: an agent that picks the best of several candidate replies, or reviews one.

In ``pick`` mode the speaking agent drafts K candidates and the critic names the best by
the spec's criteria; in ``review`` mode the critic approves a reply or sends it back with
feedback (a bounded number of times). The critic's calls are metered like any other and
each of its choices is recorded as an event. A person can be the critic
(``critic: {by: human}``): :class:`HumanCritic` asks them through the same prompts. A judge
can be too (``critic: {by: judge}``): :class:`JudgeCritic` picks the candidate the judge scores
highest, with no call to the chat model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rolecall.agents.base import Agent, Role
from rolecall.agents.human import QUIT, HumanAgent, Undo
from rolecall.judges.base import Judge, TurnInContext, Verdict
from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams
from rolecall.prompts import prompt, templates
from rolecall.settings import CriticSettings
from rolecall.transcripts.perspective import Said

_NUMBER = re.compile(r"\d+")
_APPROVALS = {"", "approve", "approved", "ok", "okay", "y", "yes", "good", "lgtm"}


class Critic(Agent):
    """Judges replies by the criteria it is given."""

    kind = "critic"

    def __init__(
        self,
        settings: CriticSettings,
        *,
        task: str,
        model: ChatModel | None = None,
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings
        super().__init__(
            Role(name=settings.role),
            model=model,
            template=templates()["critic_system"],
            prompt_values={"task": task, "criteria": settings.criteria},
            params=(params or GenerationParams()).merged(GenerationParams(max_tokens=160, temperature=0.0)),
            **options,
        )

    def applies_to(self, agent: Agent) -> bool:
        return agent.kind in self.settings.applies_to or agent.name in self.settings.applies_to

    async def pick(self, context: str, speaker: str, candidates: Sequence[str]) -> tuple[int, Completion]:
        """Index of the best candidate (0-based; the first when the answer names none)."""
        options = "\n\n".join(f"Option {number}:\n{text}" for number, text in enumerate(candidates, 1))
        request = prompt(
            "critic_pick", {"context": context, "speaker": speaker, "options": options, "count": len(candidates)}
        )
        completion = await self.step([Said("rolecall", request)])
        numbers = [int(found) for found in _NUMBER.findall(completion.text)]
        choice = next((number - 1 for number in numbers if 1 <= number <= len(candidates)), 0)
        return choice, completion

    async def review(self, context: str, speaker: str, reply: str) -> tuple[bool, str, Completion]:
        """Whether ``reply`` is approved, and the feedback when it is not."""
        request = prompt("critic_review", {"context": context, "speaker": speaker, "reply": reply})
        completion = await self.step([Said("rolecall", request)])
        text = completion.text.strip()
        approved = text.upper().startswith("APPROVE") or not text.upper().startswith("REVISE")
        feedback = re.sub(r"(?i)^revise\s*:?\s*", "", text).strip()
        return approved, feedback, completion


class HumanCritic(HumanAgent, Critic):
    """A person as the critic: they read the candidates or the reply and answer in a word or a number."""

    async def pick(self, context: str, speaker: str, candidates: Sequence[str]) -> tuple[int, Completion]:
        """The candidate the person names by its number (asked again until it is one)."""
        while True:
            choice, completion = await super().pick(context, speaker, candidates)
            numbers = [int(found) for found in _NUMBER.findall(completion.text)]
            if any(1 <= number <= len(candidates) for number in numbers):
                return choice, completion
            self.notice(f"type the number of the best option, 1 to {len(candidates)}")

    async def review(self, context: str, speaker: str, reply: str) -> tuple[bool, str, Completion]:
        """Approved when the person sends nothing or a yes; anything else is the feedback."""
        request = prompt("critic_review", {"context": context, "speaker": speaker, "reply": reply})
        completion = await self.step([Said("rolecall", request)])
        text = completion.text.strip()
        approved = text.lower().rstrip(".!") in _APPROVALS
        return approved, "" if approved else text, completion

    def hint(self) -> str:
        if self.settings.mode == "pick":
            return f"type the number of the best option · {QUIT} stops and saves"
        return f"'y' or 'approve' approves · anything else is your feedback · {QUIT} stops and saves"

    def question(self, messages: list[ChatMessage]) -> str | None:
        return messages[-1]["content"]  # the options, or the reply to review

    async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        while True:
            try:
                return await super().respond(messages, params)
            except Undo:
                self.notice("there is nothing to take back in a critic's verdict")


class JudgeCritic:
    """Picks the best of an agent's candidates by a judge's score (``critic: {by: judge}``)."""

    kind = "critic"

    def __init__(self, settings: CriticSettings, judge: Judge) -> None:
        self.settings = settings
        self.judge = judge

    def applies_to(self, agent: Agent) -> bool:
        return agent.kind in self.settings.applies_to or agent.name in self.settings.applies_to

    async def choose(self, candidates: Sequence[TurnInContext]) -> tuple[int, list[Verdict]]:
        """Index of the candidate the judge scores highest (the first among equals), and every verdict."""
        verdicts = await self.judge.verdicts(candidates)
        best = max(range(len(verdicts)), key=lambda number: (verdicts[number].score, -number))
        return best, verdicts

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.settings.role,
            "role": self.settings.role,
            "kind": self.kind,
            "model": None,
            "system_prompt": f"the {self.judge.name} judge picks the best of {self.settings.candidates} drafts",
        }
