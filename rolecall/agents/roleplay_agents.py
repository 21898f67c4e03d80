"""The agents of a CAMEL-style role-play: instructor, executor and task specifier.

The instructor is CAMEL's "AI user": it directs, one ``Instruction:`` at a time, and ends
with the done token. The executor is CAMEL's "AI assistant": it answers each instruction
with ``Solution: ...`` and ``Next request.``. Their inception prompts are package data.
"""

from __future__ import annotations

from typing import Any

from rolecall.agents.base import Agent, Role
from rolecall.agents.json_turns import EXECUTOR_SCHEMA, INSTRUCTOR_SCHEMA, json_fields, with_assist
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.prompts import prompt, render, templates
from rolecall.settings import Assist
from rolecall.transcripts.record import DONE_TOKEN


def _values(task: str, assistant: Role, user: Role, done_token: str, **more: Any) -> dict[str, Any]:
    return {
        "task": task,
        "assistant_role": assistant.name,
        "user_role": user.name,
        "done_token": done_token,
        **more,
    }


class Instructor(Agent):
    """CAMEL's AI user: gives one instruction at a time and says when the task is done."""

    kind = "user"

    def __init__(
        self,
        role: str | Role,
        *,
        assistant_role: str | Role,
        task: str,
        model: ChatModel | None = None,
        done_token: str = DONE_TOKEN,
        plan: list[str] | None = None,
        assist: Assist | None = None,
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.done_token = done_token
        self.assist = assist or Assist()
        template = templates()["instructor"]
        if self.assist.few_shot:
            template += templates()["instructor_example"]
        if self.assist.json_turns:
            template += templates()["instructor_json"]
            self.json_note = render(templates()["instructor_json"], {})
        template += templates()["task"]  # what differs between conversations comes last: see the template file
        if plan and len(plan) > 1:
            template += templates()["instructor_plan"]
        params = with_assist(params, self.assist, schema=INSTRUCTOR_SCHEMA, stop="Solution:")
        values = _values(
            task,
            Role.of(assistant_role),
            Role.of(role),
            done_token,
            plan="\n".join(f"{number}. {title}" for number, title in enumerate(plan or [], 1)),
        )
        super().__init__(role, model=model, template=template, prompt_values=values, params=params, **options)

    def is_done(self, text: str) -> bool:
        """Whether a reply carries the done token."""
        return self.done_token in text

    def postprocess(self, text: str) -> str:
        text = super().postprocess(text)
        data = json_fields(text, "instruction") if self.assist.json_turns else None
        if data is None:
            return text
        if data.get("task_done"):
            return self.done_token
        return f"Instruction: {str(data['instruction']).strip()}\nInput: {str(data.get('input') or 'None').strip()}"


class Executor(Agent):
    """CAMEL's AI assistant: carries out each instruction with a ``Solution:``."""

    kind = "assistant"

    def __init__(
        self,
        role: str | Role,
        *,
        user_role: str | Role,
        task: str,
        model: ChatModel | None = None,
        done_token: str = DONE_TOKEN,
        assist: Assist | None = None,
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.assist = assist or Assist()
        template = templates()["executor"]
        if self.assist.few_shot:
            template += templates()["executor_example"]
        if self.assist.json_turns:
            template += templates()["executor_json"]
            self.json_note = render(templates()["executor_json"], {})
        template += templates()["task"]
        values = _values(task, Role.of(role), Role.of(user_role), done_token)
        params = with_assist(params, self.assist, schema=EXECUTOR_SCHEMA, stop="Instruction:")
        super().__init__(role, model=model, template=template, prompt_values=values, params=params, **options)

    def postprocess(self, text: str) -> str:
        text = super().postprocess(text)
        data = json_fields(text, "solution") if self.assist.json_turns else None
        if data is None:
            return text
        return f"Solution: {str(data['solution']).strip()}\nNext request."


class TaskSpecifier(Agent):
    """Turns a vague task into a specific one in a bounded number of words."""

    kind = "task_specifier"

    def __init__(
        self,
        *,
        assistant_role: str | Role,
        user_role: str | Role,
        model: ChatModel | None = None,
        word_limit: int = 50,
        params: GenerationParams | None = None,
        **options: Any,
    ) -> None:
        self.assistant_role = Role.of(assistant_role)
        self.user_role = Role.of(user_role)
        self.word_limit = word_limit
        super().__init__(
            "Task Specifier",
            model=model,
            template=templates()["specifier_system"],
            prompt_values={"word_limit": word_limit},
            params=params or GenerationParams(max_tokens=max(64, word_limit * 3)),
            **options,
        )

    def request(self, task: str) -> str:
        """The user message asking for ``task`` to be made specific."""
        values = _values(task, self.assistant_role, self.user_role, DONE_TOKEN, word_limit=self.word_limit)
        return prompt("specifier", values)

    def postprocess(self, text: str) -> str:
        text = super().postprocess(text)
        for prefix in ("Specified task:", "Task:"):
            if text.lower().startswith(prefix.lower()):
                text = text[len(prefix) :].strip()
        return text
