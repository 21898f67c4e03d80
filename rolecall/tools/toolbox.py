"""The tools of a conversation: each agent's toolbox, and the running of one call, safely.

A :class:`Toolkit` turns what a spec or a caller names (a built-in's name, ``"module:function"``,
``{mcp: {...}}``, a :class:`Tool`, a plain function) into tools, checked when the
conversation is made; the MCP servers start when it starts and stop when it ends, and each
built-in it names (:data:`BUILTINS`) is made once for the conversation, so the ``notes``
tool is one notebook shared by every agent of the conversation. A
:class:`Toolbox` runs one call: arguments checked, a time limit, any exception turned into a
result the agent reads, and the output made safe to record (valid UTF-8, bounded).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rolecall._checked import describe_validation_error
from rolecall.errors import SpecError, shorten
from rolecall.models.base import ToolCall
from rolecall.settings import ToolSettings
from rolecall.tools.base import BadArguments, Tool, ToolError, tool
from rolecall.tools.builtin.base import BUILTINS, BuiltinTool
from rolecall.tools.mcp import McpServer, McpServerSpec

#: What names a tool: a built-in's name, "module:function", {"mcp": {...}}, a Tool, or a typed function.
ToolSource = str | Mapping[str, Any] | Tool | Callable[..., Any]
#: A source made concrete: a tool, a registered built-in, or an MCP server to start.
_Checked = Tool | type[BuiltinTool] | McpServerSpec


@dataclass(frozen=True)
class ToolResult:
    """What one call returned to the agent: ``content`` always, ``error`` when the call failed."""

    content: str
    error: str | None
    latency_ms: float


def safe_text(text: str, limit: int) -> str:
    """``text`` as valid UTF-8, at most ``limit`` characters, saying how much was cut."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters cut]"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class Toolbox:
    """One agent's tools, by name, and the one way a call runs."""

    def __init__(self, tools: Sequence[Tool], settings: ToolSettings) -> None:
        self.tools: dict[str, Tool] = {}
        for item in tools:
            if item.name in self.tools:
                raise SpecError(f"tools: two tools are named {item.name!r}")
            self.tools[item.name] = item
        self.settings = settings

    def __bool__(self) -> bool:
        return bool(self.tools)

    def specs(self) -> list[dict[str, Any]]:
        """The tools as OpenAI's ``tools`` list carries them."""
        return [item.spec() for item in self.tools.values()]

    def check(self, call: ToolCall) -> str | None:
        """What is wrong with ``call`` (an unknown tool, arguments that do not fit), or None."""
        found = self.tools.get(call.name)
        if found is None:
            return f"there is no tool {shorten(call.name, 60)!r}; the tools are: {', '.join(self.tools)}"
        try:
            found.check(call.arguments)
        except BadArguments as exc:
            return str(exc)
        return None

    async def run(self, call: ToolCall) -> ToolResult:
        """Run ``call`` within the time limit; whatever happens ends as a result the agent can read."""
        started = time.perf_counter()
        limit = self.settings.output_chars
        error: str | None = None
        output = ""
        try:
            found = self.tools.get(call.name)
            if found is None:
                raise ToolError(self.check(call) or "unknown tool")
            arguments = found.check(call.arguments)
            async with asyncio.timeout(self.settings.timeout):
                output = _as_text(await found.run(arguments))
        except TimeoutError:
            error = f"timed out after {self.settings.timeout:g} s"
        except BadArguments as exc:
            error = str(exc)
        except ToolError as exc:
            error, output = str(exc), exc.output
        except Exception as exc:  # a tool's own bug: the agent hears of it, the conversation goes on
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        if error is not None:
            error = safe_text(error, 500)
            content = f"{safe_text(output, limit)}\nerror: {error}" if output.strip() else f"error: {error}"
            return ToolResult(content, error, latency_ms)
        return ToolResult(safe_text(output, limit) or "(no output)", None, latency_ms)


class Toolkit:
    """The tools of one conversation, by agent name: checked when made, opened at the start, closed at the end."""

    def __init__(self, sources: Mapping[str, Sequence[ToolSource]], settings: ToolSettings) -> None:
        self.settings = settings
        self._sources = {agent: [_checked(source) for source in listed] for agent, listed in sources.items() if listed}
        self._boxes: dict[str, Toolbox] = {}
        self._servers: dict[str, McpServer] = {}  # by the spec's JSON
        self._builtins: dict[str, BuiltinTool] = {}  # by name: one of each for the conversation

    def __bool__(self) -> bool:
        return bool(self._sources)

    @property
    def opened(self) -> bool:
        return bool(self._boxes) or not self._sources

    async def open(self) -> None:
        """Make every agent's toolbox, starting the MCP servers they name (each once)."""
        if self.opened:
            return
        try:
            for agent, listed in self._sources.items():
                tools: list[Tool] = []
                for source in listed:
                    tools += await self._resolve(source)
                self._boxes[agent] = Toolbox(tools, self.settings)
        except BaseException:
            await self.close()
            raise

    async def _resolve(self, source: _Checked) -> list[Tool]:
        if isinstance(source, Tool):
            return [source]
        if isinstance(source, McpServerSpec):
            key = source.model_dump_json()
            server = self._servers.get(key)
            if server is None:
                server = self._servers[key] = McpServer(source)
                await server.start()
            return list(server.tools)
        builtin = self._builtins.get(source.name)
        if builtin is None:
            builtin = self._builtins[source.name] = source(self.settings)
        made = builtin.tools()
        for item in made:
            item.source = builtin.name  # recorded so that a resumed conversation names the built-in again
        return made

    def toolbox(self, agent: str) -> Toolbox | None:
        """The toolbox of the agent called ``agent`` (after :meth:`open`), or None when it has no tools."""
        return self._boxes.get(agent)

    async def close(self) -> None:
        """Stop the MCP servers and close the built-ins; calling it again does nothing."""
        servers, self._servers = list(self._servers.values()), {}
        builtins, self._builtins = list(self._builtins.values()), {}
        for server in servers:
            await server.stop()
        for builtin in builtins:
            await builtin.close()


def _checked(source: ToolSource) -> _Checked:
    """``source`` made concrete now, so a wrong name is a ``SpecError`` before any call."""
    if isinstance(source, Tool):
        return source
    if isinstance(source, str):
        if source in BUILTINS:
            return BUILTINS.get(source)
        if ":" in source:
            return _imported(source)
        raise SpecError(f"tools: no built-in tool {shorten(source, 60)!r}; built-ins: {', '.join(BUILTINS)}; "
                        "or name a function as 'module:function'")  # fmt: skip
    if isinstance(source, Mapping):
        if set(source) != {"mcp"}:
            raise SpecError(f"tools: a mapping names an MCP server as {{mcp: {{command: [...]}}}}, got {dict(source)}")
        try:
            return McpServerSpec.model_validate(source["mcp"])
        except ValidationError as exc:
            raise SpecError(f"tools.mcp: {describe_validation_error(exc)}") from None
    if callable(source):
        return tool(source)
    raise SpecError(f"tools: {shorten(repr(source), 60)} is not a tool")


def _imported(path: str) -> Tool:
    module_name, _, attribute = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SpecError(f"tools: cannot import {path!r} ({type(exc).__name__}: {exc})") from None
    if isinstance(found, Tool):
        return found
    if callable(found):
        made = tool(found)
        made.source = path
        return made
    raise SpecError(f"tools: {path!r} is neither a tool nor a function")


def sources_of(recorded: Sequence[Mapping[str, Any]]) -> list[ToolSource]:
    """The sources a transcript's recorded tools came from, each once (to offer them again on resume)."""
    found: list[ToolSource] = []
    for entry in recorded:
        source = entry.get("source")
        if source is not None and source not in found:
            found.append(source)
    return found
