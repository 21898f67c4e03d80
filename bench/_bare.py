"""The role-play protocol without rolecall: the baselines rolecall is measured against.

Same system prompts (rolecall's), same kickoff, same alternating views, no framework, on
two code paths: ``bare_conversation`` calls ``client.chat.completions.create`` as people
write it with the ``openai`` SDK; ``floor_conversation`` posts the same JSON with plain
``httpx2`` and reads the reply with ``response.json()`` (no SDK objects): the floor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import openai

from rolecall.agents import Executor, Instructor
from rolecall.prompts import prompt


async def bare_conversation(client: openai.AsyncOpenAI, assistant: str, user: str, task: str, turns: int) -> None:
    """Hold one role-play of ``turns`` turns with ``chat.completions.create``."""

    async def ask(messages: list[dict[str, str]]) -> str:
        response = await client.chat.completions.create(model="bench", messages=messages)  # type: ignore[arg-type]
        return response.choices[0].message.content or ""

    await _converse(ask, assistant, user, task, turns)


async def floor_conversation(client: httpx2.AsyncClient, assistant: str, user: str, task: str, turns: int) -> None:
    """Hold one role-play of ``turns`` turns by posting JSON with ``httpx`` (``client`` has the base URL)."""

    async def ask(messages: list[dict[str, str]]) -> str:
        response = await client.post("chat/completions", json={"model": "bench", "messages": messages})
        response.raise_for_status()
        data: Any = response.json()
        return str(data["choices"][0]["message"]["content"] or "")

    await _converse(ask, assistant, user, task, turns)


async def _converse(
    ask: Callable[[list[dict[str, str]]], Awaitable[str]], assistant: str, user: str, task: str, turns: int
) -> None:
    instructor_view = [
        {"role": "system", "content": Instructor(user, assistant_role=assistant, task=task).system_prompt},
        {"role": "user", "content": prompt("kickoff", {})},
    ]
    executor_view = [{"role": "system", "content": Executor(assistant, user_role=user, task=task).system_prompt}]
    for _ in range(turns):
        instruction = await ask(instructor_view)
        instructor_view.append({"role": "assistant", "content": instruction})
        executor_view.append({"role": "user", "content": instruction})
        solution = await ask(executor_view)
        executor_view.append({"role": "assistant", "content": solution})
        instructor_view.append({"role": "user", "content": solution})
