"""Society members: who they are in a spec, and the agents that speak as them.

A :class:`Member` is one entry of a society spec's ``agents`` (a unique name, a role, tools);
a :class:`MemberAgent` speaks as that member about the shared task, knowing the others by
name; the lead may end the task with the done token. :class:`HumanMember` is a person in
that seat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ConfigDict, Field

from rolecall._checked import Checked
from rolecall.agents.base import Agent, Role
from rolecall.agents.human import HumanAgent
from rolecall.agents.json_turns import LEAD_SCHEMA, MEMBER_SCHEMA, json_fields, with_assist
from rolecall.models.base import GenerationParams
from rolecall.prompts import prompt, render, templates
from rolecall.settings import Assist


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

    def describe(self) -> dict[str, Any]:
        """The member as a transcript records it: with whether it leads and its description (to resume it)."""
        described = super().describe()
        if self.lead:
            described["lead"] = True
        if self.role.description:
            described["description"] = self.role.description
        return described

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
