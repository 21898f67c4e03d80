"""The role-play protocol driven by bare ``openai`` calls: the baseline rolecall is measured against.

Same system prompts (rolecall's), same kickoff, same alternating views, no framework.
"""

from __future__ import annotations

import openai

from rolecall.agents import Executor, Instructor
from rolecall.agents.templates import prompt


async def bare_conversation(client: openai.AsyncOpenAI, assistant: str, user: str, task: str, turns: int) -> None:
    """Hold one role-play of ``turns`` turns with plain chat completion calls."""
    instructor_view = [
        {"role": "system", "content": Instructor(user, assistant_role=assistant, task=task).system_prompt},
        {"role": "user", "content": prompt("kickoff", {})},
    ]
    executor_view = [{"role": "system", "content": Executor(assistant, user_role=user, task=task).system_prompt}]
    for _ in range(turns):
        response = await client.chat.completions.create(model="bench", messages=instructor_view)  # type: ignore[arg-type]
        instruction = response.choices[0].message.content or ""
        instructor_view.append({"role": "assistant", "content": instruction})
        executor_view.append({"role": "user", "content": instruction})
        response = await client.chat.completions.create(model="bench", messages=executor_view)  # type: ignore[arg-type]
        solution = response.choices[0].message.content or ""
        executor_view.append({"role": "assistant", "content": solution})
        instructor_view.append({"role": "user", "content": solution})
