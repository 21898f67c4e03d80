"""JSON turns: each reply decoded under a JSON Schema, then rendered back to the plain-text protocol.

Small models keep their role and format far better when the server constrains each turn to
a schema (docs/on_task.md). The schemas of the instructor, the executor and a society
member live here with the two helpers every agent that speaks in JSON needs: the sampling
parameters that ask for the schema, and the reading of a reply's fields (also from a reply
the length limit cut short, or one holding raw newlines inside its strings).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rolecall.models.base import GenerationParams
from rolecall.settings import Assist

#: What a turn says is never empty: the grammar itself refuses an empty field (a 135M model otherwise writes
#: ``"instruction": ""`` again on every re-ask until the ``empty`` guard stops the conversation).
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}

INSTRUCTOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"instruction": _TEXT, "input": {"type": "string"}, "task_done": {"type": "boolean"}},
    "required": ["instruction", "input", "task_done"],
}
EXECUTOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"solution": _TEXT},
    "required": ["solution"],
}
MEMBER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": _TEXT},
    "required": ["message"],
}
LEAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": _TEXT, "task_done": {"type": "boolean"}},
    "required": ["message", "task_done"],
}


def without_done(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``task_done`` field fixed to false: a turn that may not end the task."""
    properties = dict(schema["properties"])
    properties["task_done"] = {"type": "boolean", "enum": [False]}
    return {**schema, "properties": properties}


_FIELD = re.compile(r'"(\w+)"\s*:\s*("(?:[^"\\]|\\.)*"?|true|false)')


def with_assist(
    params: GenerationParams | None, assist: Assist, *, schema: dict[str, Any], stop: str | None = None
) -> GenerationParams:
    """``params`` plus what ``assist`` asks for: the stop sequence, or the JSON schema of the turn."""
    params = params or GenerationParams()
    extra = GenerationParams()
    if assist.stops and stop and not assist.json_turns:  # a stop inside a JSON string would break the JSON
        extra = GenerationParams(stop=[*(params.stop or []), stop])
    if assist.json_turns:
        extra = extra.merged(GenerationParams(json_schema=schema))
    return params.merged(extra)


def json_fields(text: str, *names: str) -> dict[str, Any] | None:
    """The JSON turn's fields when it has all of ``names``; from a cut-off reply, the fields it completed."""
    try:
        data = json.loads(text, strict=False)  # strict=False: raw newlines inside strings are common
    except (ValueError, RecursionError):
        data = {}
        for found in _FIELD.finditer(text):
            value = found.group(2)
            if value in ("true", "false"):
                data[found.group(1)] = value == "true"
                continue
            try:
                closed = value if value.endswith('"') and len(value) > 1 else value + '"'
                data[found.group(1)] = json.loads(closed, strict=False)
            except ValueError:
                continue
    return data if isinstance(data, dict) and all(name in data for name in names) else None
