"""What a tool is: a name, a description, a JSON Schema of its arguments, and a way to run it.

Every tool an agent can call is a :class:`Tool`, whichever way it came: a typed Python
function made one by :func:`tool` (its schema read from the signature and docstring by
pydantic, its arguments validated before it runs), a built-in named in a spec, or a tool
of an MCP server. A tool reports a failure it can explain by raising :class:`ToolError`;
anything else it raises is caught by the toolbox and returned to the agent as well.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo

from rolecall.errors import SpecError

#: A tool name as OpenAI's function calling accepts it.
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolError(Exception):
    """A tool could not do what was asked; the message (and any ``output``) goes back to the agent."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class BadArguments(ValueError):
    """The arguments of a call do not fit the tool's schema; the message says how."""


class Tool(ABC):
    """A callable capability offered to an agent. Subclasses set the three fields and write :meth:`run`."""

    name: str
    description: str
    #: A JSON Schema (type "object") of the arguments.
    parameters: dict[str, Any]
    #: How a spec names this tool again (recorded in transcripts): a built-in's name, "module:function", ...
    source: Any = None

    def check(self, arguments: dict[str, Any] | str) -> dict[str, Any]:
        """The arguments, validated; :class:`BadArguments` says what is wrong. The default wants a JSON object."""
        if not isinstance(arguments, dict):
            raise BadArguments(f"the arguments of {self.name} are not a JSON object: {str(arguments)[:200]}")
        problems = []
        missing = [name for name in self.parameters.get("required", []) if name not in arguments]
        if missing:
            problems.append(f"{self.name} needs {', '.join(missing)}")
        known = self.parameters.get("properties")
        if isinstance(known, dict) and self.parameters.get("additionalProperties") is False:
            unknown = [name for name in arguments if name not in known]
            if unknown:
                problems.append(f"{self.name} takes no argument {', '.join(unknown)}")
        if problems:
            raise BadArguments("; ".join(problems))
        return arguments

    @abstractmethod
    async def run(self, arguments: dict[str, Any]) -> Any:
        """Do the work with checked ``arguments``; the answer is text, or anything JSON can show."""

    def spec(self) -> dict[str, Any]:
        """The tool as OpenAI's ``tools`` list carries it."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def info(self) -> dict[str, Any]:
        """The tool as a transcript records it."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "source": self.source,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _doc_parts(function: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (the docstring before its ``Args:`` section) and each argument's line from that section."""
    doc = inspect.getdoc(function) or ""
    parts = re.split(r"^(?:Args|Arguments|Parameters):\s*$", doc, maxsplit=1, flags=re.M)
    head, args = parts[0], parts[1] if len(parts) > 1 else ""
    described: dict[str, str] = {}
    current: str | None = None
    for line in args.splitlines():
        found = re.match(r"^\s{0,8}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$", line)
        if found and not line.startswith(" " * 9):
            current = found.group(1)
            described[current] = found.group(2).strip()
        elif current and line.strip():
            described[current] = f"{described[current]} {line.strip()}".strip()
        elif not line.strip() and described:
            current = None
    return " ".join(head.split()), described


class FunctionTool(Tool):
    """A Python function as a tool: the schema from its type hints and docstring, arguments validated by pydantic.

    A coroutine function is awaited; a plain function runs in a thread of its own, so one that
    hangs costs its call's time limit and nothing else.
    """

    def __init__(self, function: Callable[..., Any], *, name: str | None = None, description: str | None = None):
        self.function = function
        self.name = name or function.__name__
        if not NAME.match(self.name):
            raise SpecError(f"tool name {self.name!r}: use 1 to 64 letters, digits, '_' or '-'")
        summary, described = _doc_parts(function)
        self.description = description or summary or self.name
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except Exception as exc:  # an annotation naming something that does not exist
            raise SpecError(f"tool {self.name}: its type hints cannot be read ({exc})") from None
        fields: dict[str, Any] = {}
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise SpecError(f"tool {self.name}: *args and **kwargs cannot be described to a model")
            annotation = hints.get(parameter.name, Any)
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[parameter.name] = (annotation, FieldInfo(default=default, description=described.get(parameter.name)))
        try:
            self.model: type[BaseModel] = create_model(
                f"{self.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
            )
            schema = self.model.model_json_schema()
        except Exception as exc:  # an annotation pydantic cannot describe
            raise SpecError(f"tool {self.name}: its arguments cannot be described as JSON Schema ({exc})") from None
        schema.pop("title", None)
        for field in schema.get("properties", {}).values():
            field.pop("title", None)
        self.parameters = schema
        module = getattr(function, "__module__", None)
        self.source = f"{module}:{function.__qualname__}" if module else self.name

    def check(self, arguments: dict[str, Any] | str) -> dict[str, Any]:
        if not isinstance(arguments, dict):
            raise BadArguments(f"the arguments of {self.name} are not a JSON object: {str(arguments)[:200]}")
        try:
            validated = self.model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'arguments'}: {error['msg']}" for error in exc.errors()[:5]
            )
            raise BadArguments(f"{self.name}: {problems}") from None
        return {name: getattr(validated, name) for name in type(validated).model_fields}

    async def run(self, arguments: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**arguments)
        return await in_thread(self.function, **arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The decorated function stays callable as it was."""
        return self.function(*args, **kwargs)


async def in_thread(function: Callable[..., Any], /, **arguments: Any) -> Any:
    """Run ``function`` in a daemon thread: a call that never returns cannot keep the process from exiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, failure: BaseException | None) -> None:
        if future.done():
            return
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(value)

    def work() -> None:
        try:
            value = function(**arguments)
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name=f"tool-{getattr(function, '__name__', 'call')}", daemon=True).start()
    return await future


@overload
def tool(function: Callable[..., Any], /) -> FunctionTool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...
def tool(
    function: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a typed Python function a tool: ``@tool`` or ``@tool(name=..., description=...)``.

    The description is the docstring's text before an ``Args:`` section, whose ``name: text``
    lines describe the arguments. Arguments are validated against the type hints before the
    function runs; an invalid call is answered with what is wrong.
    """
    if function is not None:
        return FunctionTool(function, name=name, description=description)
    return lambda decorated: FunctionTool(decorated, name=name, description=description)
