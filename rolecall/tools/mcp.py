"""Tools of an MCP server: a stdio server started from the spec, listed and called like any tool.

``tools: [{mcp: {command: [python, examples/menu_server.py]}}]`` starts the server when the
conversation starts and stops it with the conversation. The server's session is owned by
one task that enters and leaves the ``mcp`` client's context managers (they must be left in
the task that entered them); calls from the dialogue go through that session. A command
named ``python`` runs with rolecall's own interpreter. The server's stderr goes to a
temporary file whose tail is reported when it fails to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from typing import Any, TextIO, cast

from pydantic import ConfigDict, Field

from rolecall._checked import Checked
from rolecall.errors import RunError, SpecError
from rolecall.tools.base import NAME, Tool, ToolError

START_SECONDS = 30.0
STOP_SECONDS = 5.0


class McpServerSpec(Checked):
    """How to start one MCP server: ``command`` (with its arguments), extra ``env``, which ``tools`` to offer.

    The shape Claude Desktop, Cursor and VS Code write is accepted as it is: ``command`` a
    program and ``args`` its arguments (``{command: mcp-server-time, args: [--local-timezone,
    UTC]}``), as is rolecall's one list (``command: [mcp-server-time, --local-timezone, UTC]``).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    command: list[str] | str = Field(min_length=1, max_length=256)
    args: list[str] = Field(default_factory=list, max_length=256)
    #: Variables set for the server. It gets only these, ``pass_env``'s and the mcp SDK's short list
    #: (HOME, LOGNAME, PATH, SHELL, TERM, USER): an API key in rolecall's shell does not reach it unnamed.
    env: dict[str, str] = Field(default_factory=dict)
    #: Names of rolecall's own environment variables to pass on as they are (a key, without writing it down).
    pass_env: list[str] = Field(default_factory=list, max_length=256)
    cwd: str | None = None
    tools: list[str] | None = None  # the server's tools to offer (default: all)

    def environment(self) -> dict[str, str] | None:
        """What the server's environment adds to the SDK's short list: ``pass_env``'s variables, then ``env``."""
        passed = {name: os.environ[name] for name in self.pass_env if name in os.environ}
        return {**passed, **self.env} or None

    @property
    def argv(self) -> list[str]:
        """The program and its arguments, however the spec wrote them."""
        return [*([self.command] if isinstance(self.command, str) else self.command), *self.args]


class McpTool(Tool):
    """One tool of a running MCP server."""

    def __init__(self, server: McpServer, name: str, description: str, parameters: dict[str, Any]) -> None:
        self.server = server
        self.name = name
        self.description = description
        self.parameters = parameters if parameters.get("type") == "object" else {"type": "object", "properties": {}}
        self.source = {"mcp": server.spec.model_dump(exclude_defaults=True)}

    async def run(self, arguments: dict[str, Any]) -> str:
        return await self.server.call(self.name, arguments)


class McpServer:
    """A running MCP server over stdio, owned by one task from :meth:`start` to :meth:`stop`."""

    def __init__(self, spec: McpServerSpec) -> None:
        self.spec = spec
        self.tools: list[McpTool] = []
        self._session: Any = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._failure: BaseException | None = None
        self._owner: asyncio.Task[None] | None = None
        self._errlog: TextIO | None = None

    @property
    def label(self) -> str:
        return " ".join(self.spec.argv)[:120]

    async def start(self) -> None:
        """Start the server, open the session and list its tools; a ``RunError`` says why it could not."""
        try:
            from mcp import ClientSession, StdioServerParameters
            from mcp.client.stdio import stdio_client
        except ImportError:
            raise SpecError("tools: MCP servers need the mcp package: pip install 'rolecall[mcp]'") from None
        program, *arguments = self.spec.argv
        if program in ("python", "python3"):
            program = sys.executable
        elif shutil.which(program) is None:
            raise RunError(f"MCP server {self.label!r}: no program {program!r} on PATH")
        parameters = StdioServerParameters(
            command=program, args=arguments, env=self.spec.environment(), cwd=self.spec.cwd
        )
        errlog = cast(TextIO, tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"))  # noqa: SIM115
        self._errlog = errlog  # closed in stop()

        async def own() -> None:
            try:
                async with (
                    stdio_client(parameters, errlog=errlog) as (read, write),
                    ClientSession(read, write) as session,
                ):
                    await session.initialize()
                    listed = await session.list_tools()
                    self._session = session
                    self.tools = self._offered(listed.tools)
                    self._ready.set()
                    await self._stop.wait()
            except Exception as exc:  # reported by start() or by the next call
                self._failure = exc
            finally:
                self._session = None
                self._ready.set()

        self._owner = asyncio.create_task(own(), name=f"mcp {self.label}")
        try:
            async with asyncio.timeout(START_SECONDS):
                await self._ready.wait()
        except TimeoutError:
            await self.stop()
            raise RunError(f"MCP server {self.label!r} did not answer within {START_SECONDS:g} s") from None
        if self._session is None:
            failure, stderr = _cause(self._failure), self._tail()
            await self.stop()
            if isinstance(failure, RunError):  # rolecall's own finding (a tool the server lacks): said as it is
                raise failure
            raise RunError(f"MCP server {self.label!r} did not start: {failure}; its stderr: {stderr}")

    def _offered(self, listed: list[Any]) -> list[McpTool]:
        tools = []
        for entry in listed:
            name = str(entry.name)
            if (self.spec.tools is not None and name not in self.spec.tools) or not NAME.match(name):
                continue
            schema = getattr(entry, "input_schema", None) or getattr(entry, "inputSchema", None) or {}
            tools.append(McpTool(self, name, str(entry.description or name), dict(schema)))
        missing = sorted(set(self.spec.tools or ()) - {tool.name for tool in tools})
        if missing:
            raise RunError(f"MCP server {self.label!r} has no tool {', '.join(missing)}")
        return tools

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Call the server's tool ``name``; an error result is a ``ToolError`` with the server's text."""
        session = self._session
        if session is None:
            raise ToolError(f"the MCP server {self.label!r} is not running ({self._failure or 'stopped'})")
        result = await session.call_tool(name, arguments)
        parts = []
        for block in getattr(result, "content", None) or ():
            text = getattr(block, "text", None)
            parts.append(str(text) if text is not None else f"[{getattr(block, 'type', 'content')}]")
        text = "\n".join(parts)
        if getattr(result, "is_error", False) or getattr(result, "isError", False):
            raise ToolError(text or "the MCP tool failed")
        return text

    async def stop(self) -> None:
        """End the session and the server process (cancelling the owner if it does not end in time)."""
        self._stop.set()
        if self._owner is not None:
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await asyncio.shield(self._owner)
            except TimeoutError:
                self._owner.cancel()
                with contextlib.suppress(BaseException):
                    await self._owner
            self._owner = None
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def _tail(self) -> str:
        if self._errlog is None:
            return "(none)"
        self._errlog.seek(0)
        lines = [line.strip() for line in self._errlog.read()[-2000:].splitlines() if line.strip()]
        return " | ".join(lines[-3:]) or "(none)"


def _cause(failure: BaseException | None) -> BaseException | None:
    """The one error inside the task groups the mcp client nests it in (``unhandled errors in a TaskGroup``)."""
    while isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        failure = failure.exceptions[0]
    return failure
