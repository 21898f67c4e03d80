"""Societies: more than two agents working on one task, in the order a turn policy gives.

Every member sees the conversation from its own side (its lines as ``assistant``, the
others' as ``user``, each prefixed with the speaker's name). The lead opens, and ends the
conversation with the done token. Who speaks next is the policy's choice: the spec's
``turns.policy`` names one of :data:`POLICIES` (round robin, a transition graph, a moderator,
or a plugin's), each one file in ``rolecall/dialogue/policies/``. A policy that casts an agent
of its own (the moderator) has its calls metered like every other and each choice recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rolecall.agents.base import Agent
from rolecall.agents.human import Person
from rolecall.agents.members import HumanMember, Member, MemberAgent
from rolecall.dialogue.continuation import continued_id, continued_settings
from rolecall.dialogue.conversation import Conversation
from rolecall.dialogue.policy import End, Speaker, TurnPolicy
from rolecall.errors import SpecError
from rolecall.models.base import ChatModel
from rolecall.prompts import prompt
from rolecall.registry import Registry
from rolecall.settings import Settings
from rolecall.tools.toolbox import sources_of
from rolecall.transcripts.record import Message, Transcript, conversation_id
from rolecall.turns import TurnSettings

ENTRY_POINT_GROUP = "rolecall.policies"


class SocietyPolicy(TurnPolicy):
    """A society's turn policy, by the spec's ``turns.policy``: set ``name``, write :meth:`choose`, register.

    The class docstring says how it chooses. It is made with its society (:attr:`society`): the
    lead opens, and the lead's done token ends the task. :meth:`prepare` may cast an agent of the
    policy's own (record it with ``society.transcript.agents``).
    """

    name: ClassVar[str] = ""
    endings = ("task_done",)

    def __init__(self, society: Society) -> None:
        self.society = society
        self.settings = society.turn_settings
        self.roster = society.roster

    async def prepare(self) -> None:
        """Set up before the first message, after the members are cast."""

    async def choose(self, last: Message) -> str:
        """The name of the member who speaks after ``last``."""
        raise NotImplementedError

    async def next(self, last: Message | None) -> Speaker | End:
        name = self.society.lead if last is None else await self.choose(last)
        others = [other for other in self.roster if other != name]
        return Speaker(self.society.agents[name], "member", new_turn=True, others=others)

    def heard(self, message: Message) -> End | None:
        if message.speaker == self.society.lead and self.society.done_token in message.content:
            self.society.graph.complete("task", result=f"done at turn {message.turn}")
            return End("task_done")
        return None


#: The society turn policies by name: the built-ins of ``rolecall.dialogue.policies``, then plugins'.
POLICIES: Registry[SocietyPolicy] = Registry(
    "turn policy", ENTRY_POINT_GROUP, SocietyPolicy, name_of=lambda policy: policy.name,
    package="rolecall.dialogue.policies",
)  # fmt: skip


def register_policy(policy: type[SocietyPolicy]) -> type[SocietyPolicy]:
    """Add a society turn policy (usable as a class decorator)."""
    return POLICIES.register(policy)


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
        policy_cls = POLICIES.get(self.turn_settings.policy)
        self.model = model
        self.member_models = dict(models or {})
        if id is None:
            id = uuid.uuid4().hex[:16] if settings.seed is None else society_id(names, task, sample, settings.seed)
        tools = {member.name: member.tools for member in members}
        if person is not None and person.plays is not None and person.plays not in names:
            raise SpecError(f"human: {person.plays!r} is not a member ({', '.join(names)})")
        super().__init__(task, id=id, settings=settings, critic_model=critic_model, tools=tools, person=person)
        self.agents: dict[str, Agent] = {}
        self._policy = policy_cls(self)

    @property
    def models(self) -> Sequence[ChatModel]:
        return [model for model in (self.model, *self.member_models.values()) if model is not None]

    @property
    def policy(self) -> TurnPolicy:
        return self._policy

    def model_for(self, name: str) -> ChatModel | None:
        """The model member ``name`` speaks with: its own, or the society's."""
        return self.member_models.get(name, self.model)

    @classmethod
    def resume(
        cls,
        transcript: Transcript,
        *,
        model: ChatModel | None = None,
        models: Mapping[str, ChatModel] | None = None,
        max_turns: int | None = None,
        token_budget: int | None = None,
        **options: Any,
    ) -> Society:
        """A society that continues ``transcript`` where it stopped (see :mod:`rolecall.dialogue.continuation`)."""
        saved, limits = continued_settings(transcript, max_turns=max_turns, token_budget=token_budget)
        members = [
            Member(name=agent.name, role=agent.role, description=(agent.model_extra or {}).get("description"),
                   tools=sources_of([tool.model_dump() for tool in agent.tools]))
            for agent in transcript.agents
            if agent.kind == "member"
        ]  # fmt: skip
        if len(members) < 2:
            raise SpecError(f"conversation {transcript.id} is not a society")
        policy = (transcript.model_extra or {}).get("turn_policy")
        lead = next((agent.name for agent in transcript.agents if (agent.model_extra or {}).get("lead")), None)
        society = cls(
            transcript.task.original, members, model=model, models=models,
            turns=TurnSettings.model_validate(policy) if policy else None,
            lead=lead or next(m.speaker for m in transcript.messages if m.is_dialogue),
            settings=saved, id=continued_id(transcript), **{**limits, **options},
        )  # fmt: skip
        return society.restore(transcript)

    async def _prepare(self) -> None:
        for member in self.members:
            person = self.person if self.person is not None and self.person.plays == member.name else None
            cls = HumanMember if person is not None else MemberAgent
            extra: dict[str, Any] = {"person": person} if person is not None else {}
            self.agents[member.name] = agent = cls(
                member, **extra, task=self.task, roster=self.members, lead=member.name == self.lead,
                done_token=self.settings.done_token, model=self.model_for(member.name), params=self.params,
                context_tokens=self.settings.context_tokens, assist=self.settings.assist,
            )  # fmt: skip
            self.tools.equip(agent)
            if not self.resumed:
                self.transcript.agents.append(self.tools.describe(agent))
        await self._policy.prepare()
        if self.resumed:  # the saved record set the scene
            return
        roster = ", ".join(f"{member.name} ({member.role})" for member in self.members)
        self.transcript.kickoff = prompt("society_kickoff", {"roster": roster, "first": self.lead})
        setattr(self.transcript, "turn_policy", self.turn_settings.model_dump())  # noqa: B010 - an added field
        self.graph.start("task")


def society_id(names: Sequence[str], task: str, sample: int, seed: int) -> str:
    """The deterministic id of a society's conversation: its members, task, sample and seed."""
    return conversation_id(sorted(names), task.strip(), sample, seed)
