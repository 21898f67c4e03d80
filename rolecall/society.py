"""Societies: more than two agents working on one task, with a turn policy.

Every member sees the conversation from its own side (its lines as ``assistant``, the
others' as ``user``, each prefixed with the speaker's name). The lead opens and ends the
conversation with the done token. Who speaks next comes from the turn policy
(:mod:`rolecall.turns`); a moderator's calls are metered like every other call and each
choice is an event. Guards, limits, the critic and the transcript are the shared ones.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pydantic import ConfigDict, Field

from rolecall.agents.base import Agent, Role
from rolecall.agents.human import HumanAgent, Person
from rolecall.agents.json_turns import LEAD_SCHEMA, MEMBER_SCHEMA, json_fields, with_assist
from rolecall.agents.templates import prompt, render, templates
from rolecall.checked import Checked
from rolecall.conversation import Conversation
from rolecall.errors import SpecError
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.settings import Assist, Settings
from rolecall.transcripts.perspective import NARRATOR, Said, lines_for
from rolecall.transcripts.record import AgentInfo, Message, conversation_id
from rolecall.turns import TurnSettings, candidates, match_name, rotate, round_robin


class Member(Checked):
    """One member of a society: a unique name and the role it plays."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    description: str | None = None
    #: The member's tools: built-in names, "module:function", {mcp: {command: [...]}} (and, from Python, Tools).
    tools: list[Any] = Field(default_factory=list, max_length=64)


class MemberAgent(Agent):
    """A society member: speaks as itself, in its role, about the shared task."""

    kind = "member"

    def __init__(
        self,
        member: Member,
        *,
        task: str,
        roster: Sequence[Member],
        lead: bool,
        done_token: str,
        assist: Assist | None = None,
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.assist = assist or Assist()
        self.lead = lead
        self.done_token = done_token
        others = [f"{other.name} ({other.role})" for other in roster if other.name != member.name]
        values = {
            "name": member.name,
            "role": member.role,
            "description": f" {member.description}" if member.description else "",
            "others": ", ".join(others),
            "task": task,
            "lead_rule": prompt("member_lead", {"done_token": done_token}) if lead else "",
        }
        template = templates()["member"]
        if self.assist.json_turns:
            template += templates()["member_json_lead" if lead else "member_json"]
            self.json_note = render(templates()["member_json_lead" if lead else "member_json"], {})
        super().__init__(
            Role(name=member.role, description=member.description),
            name=member.name,
            template=template,
            prompt_values=values,
            params=with_assist(params, self.assist, schema=LEAD_SCHEMA if lead else MEMBER_SCHEMA),
            **options,
        )

    def postprocess(self, text: str) -> str:
        text = super().postprocess(text)
        data = json_fields(text, "message") if self.assist.json_turns else None
        if data is None:
            return text
        if self.lead and data.get("task_done") is True:
            return self.done_token
        return str(data["message"]).strip()


class HumanMember(HumanAgent, MemberAgent):
    """A person speaking as a society member (the lead ends the task with the done token)."""

    def hint(self) -> str:
        return f"{super().hint()} · {self.done_token} when the task is done" if self.lead else super().hint()


class Society(Conversation):
    """N agents, one task, a turn policy; ends when the lead says the done token."""

    def __init__(
        self,
        task: str,
        members: Sequence[Member],
        *,
        model: ChatModel | None = None,
        models: Mapping[str, ChatModel] | None = None,
        turns: TurnSettings | None = None,
        lead: str | None = None,
        settings: Settings | None = None,
        sample: int = 0,
        id: str | None = None,
        critic_model: ChatModel | None = None,
        person: Person | None = None,
        **options: Any,
    ) -> None:
        """``settings`` configure the conversation; keyword ``options`` (any
        :class:`~rolecall.settings.Settings` field) are applied on top of them. ``person`` may
        play a member (``person.plays`` names it) or the critic."""
        settings = Settings.derive(settings, **options)
        names = [member.name for member in members]
        if len(members) < 2:
            raise SpecError("agents: a society needs at least two members")
        if len(set(names)) != len(names):
            raise SpecError(f"agents: member names must be unique ({', '.join(names)})")
        self.members = list(members)
        self.roster = names
        self.lead = lead or names[0]
        if self.lead not in names:
            raise SpecError(f"lead: {self.lead!r} is not a member ({', '.join(names)})")
        self.turn_settings = turns or TurnSettings()
        self.turn_settings.validate_roster(names)
        self.model = model
        self.member_models = dict(models or {})
        if id is None:
            id = uuid.uuid4().hex[:16] if settings.seed is None else society_id(names, task, sample, settings.seed)
        tools = {member.name: member.tools for member in members}
        if person is not None and person.plays is not None and person.plays not in names:
            raise SpecError(f"human: {person.plays!r} is not a member ({', '.join(names)})")
        super().__init__(task, id=id, settings=settings, critic_model=critic_model, tools=tools, person=person)
        self.agents: dict[str, MemberAgent] = {}
        self.moderator: Agent | None = None
        self._handovers: Counter[str] = Counter()

    @property
    def models(self) -> Sequence[ChatModel]:
        return [model for model in (self.model, *self.member_models.values()) if model is not None]

    def _model_for(self, name: str) -> ChatModel | None:
        return self.member_models.get(name, self.model)

    async def _prepare(self) -> None:
        for member in self.members:
            person = self.person if self.person is not None and self.person.plays == member.name else None
            cls = HumanMember if person is not None else MemberAgent
            extra: dict[str, Any] = {"person": person} if person is not None else {}
            self.agents[member.name] = cls(
                member, **extra, task=self.task, roster=self.members, lead=member.name == self.lead,
                done_token=self.settings.done_token, model=self._model_for(member.name), params=self.params,
                context_tokens=self.settings.context_tokens, assist=self.settings.assist,
            )  # fmt: skip
            self._equip(self.agents[member.name])
            self.transcript.agents.append(self._describe(self.agents[member.name]))
        if self.turn_settings.policy == "moderator":
            self.moderator = Agent(
                self.turn_settings.moderator_role,
                model=self.model,
                template=templates()["moderator_system"],
                prompt_values={"roster": ", ".join(self.roster), "task": self.task},
                params=self.params.merged(GenerationParams(max_tokens=16, temperature=0.0)),
            )
            self.moderator.kind = "moderator"
            self.transcript.agents.append(AgentInfo(**self.moderator.describe()))
        roster = ", ".join(f"{member.name} ({member.role})" for member in self.members)
        self.transcript.kickoff = prompt("society_kickoff", {"roster": roster, "first": self.lead})
        setattr(self.transcript, "turn_policy", self.turn_settings.model_dump())  # noqa: B010 - an added field
        self.graph.start("task")

    async def _dialogue(self) -> AsyncIterator[Message]:
        speaker = self.lead
        while True:
            reason = self._limit_reached(new_turn=True)
            if reason is not None:
                self._finish(reason)
                return
            self.turn += 1
            agent = self.agents[speaker]
            others = [name for name in self.roster if name != speaker]
            message = await self._speak(agent, self._view(speaker), side="member", others=others)
            yield message
            if speaker == self.lead and self.done_token in message.content:
                self.graph.complete("task", result=f"done at turn {self.turn}")
                self._finish("task_done")
                return
            speaker = await self._next_speaker(message)

    def _view(self, speaker: str) -> list[Said]:
        return lines_for(self.transcript, name=speaker, kind="member")

    async def _next_speaker(self, last: Message) -> str:
        if self.turn_settings.policy == "round_robin":
            return round_robin(self.roster, last.speaker)
        options = candidates(self.turn_settings, self.roster, last.speaker)
        if self.turn_settings.transitions.get(last.speaker):
            fallback = rotate(options, self._handovers[last.speaker])
            self._handovers[last.speaker] += 1
        else:
            fallback = next(name for name in _after(self.roster, last.speaker) if name in options)
        if self.moderator is None or len(options) == 1:
            return fallback
        request = prompt(
            "moderator",
            {"last": last.speaker, "message": last.content[-1500:], "candidates": ", ".join(options)},
        )
        answer = self._meter(await self.moderator.step([Said(NARRATOR, request)])).text
        roles = {member.role: member.name for member in self.members if member.name in options}
        chosen = match_name(answer, options, aliases=roles)
        self._event(
            "turn_policy", policy="moderator", answer=answer, chosen=chosen or fallback, fallback=chosen is None
        )
        return chosen or fallback


def society_id(names: Sequence[str], task: str, sample: int, seed: int) -> str:
    """The deterministic id of a society's conversation: its members, task, sample and seed."""
    return conversation_id(sorted(names), task.strip(), sample, seed)


def _after(roster: Sequence[str], name: str) -> list[str]:
    """The roster in speaking order starting after ``name``."""
    start = roster.index(name) + 1
    return [*roster[start:], *roster[:start]]
