"""Tasks made up for a batch: a task-generator agent writes them per role pair, and they are saved.

With ``tasks_per_pair: K`` a batch asks the model for K tasks per (assistant role, user role)
under a JSON Schema, once: the answers are appended to ``tasks.jsonl`` so a rerun plans the
very same conversations. A line of that file that cannot be read is skipped (its pair is
asked again).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rolecall._secrets import clean
from rolecall.agents.base import Agent
from rolecall.models.base import ChatModel, GenerationParams
from rolecall.prompts import prompt
from rolecall.transcripts.perspective import Said

log = logging.getLogger(__name__)

Pair = tuple[str, str]


def read_saved(path: Path) -> dict[Pair, list[str]]:
    """The tasks saved by earlier runs, per role pair; unreadable lines are skipped."""
    saved: dict[Pair, list[str]] = {}
    if not path.exists():
        return saved
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                record = json.loads(raw)
                pair = (str(record["assistant_role"]), str(record["user_role"]))
                tasks = [str(task) for task in record["tasks"] if str(task).strip()]
            except (ValueError, KeyError, TypeError, RecursionError):
                log.warning("%s:%d: not a saved task list; that pair's tasks are generated again", path, number)
                continue
            if tasks:
                saved[pair] = tasks
    return saved


def save(path: Path, pair: Pair, tasks: list[str]) -> None:
    """Append one pair's tasks to ``path`` as a line of JSON."""
    record = {"assistant_role": pair[0], "user_role": pair[1], "tasks": tasks}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(clean(json.dumps(record, ensure_ascii=False)) + "\n")


async def generate_tasks(model: ChatModel, assistant: str, user: str, count: int, seed: int) -> list[str]:
    """``count`` tasks for a role pair from a task-generator agent (JSON under a schema)."""
    schema = {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"type": "string"}, "minItems": count, "maxItems": count}},
        "required": ["tasks"],
    }
    generator = Agent(
        "Task Generator",
        model=model,
        template="You write short, concrete tasks for role-play conversations. You answer with JSON only.",
        params=GenerationParams(json_schema=schema, temperature=0.8, max_tokens=60 * count + 40, seed=seed),
    )
    request = prompt("task_generator", {"count": count, "assistant_role": assistant, "user_role": user})
    for _ in range(3):
        text = (await generator.step([Said("rolecall", request)])).text
        try:
            tasks = [str(task).strip() for task in json.loads(text[text.find("{") : text.rfind("}") + 1])["tasks"]]
        except (ValueError, KeyError, TypeError):
            continue
        tasks = [task for task in dict.fromkeys(tasks) if task][:count]
        if tasks:
            return tasks
    return [f"Help a {user} with a task that needs a {assistant}"]
