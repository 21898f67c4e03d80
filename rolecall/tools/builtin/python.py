"""The ``python`` tool: run a snippet in a separate, limited process and return what it printed.

Each call gets a fresh interpreter (``python -I``: no user site, no ``PYTHON*`` variables)
with an empty environment (no API key can be read from it), its own temporary directory as
the working directory (removed afterwards), and limits it sets on itself before the snippet
runs: CPU seconds, address space, file size, no core dumps, no new processes where the OS
allows. The call has a wall-clock limit and an output limit; over either, the whole process
group is killed. The value of a last bare expression is printed, as in a notebook.

What it does not protect against: reading files the user running rolecall may read, the
network, and (as root, where the process limit is not enforced) a child the snippet detaches
into a session of its own, which outlives the group kill with the same CPU and memory limits.
Run rolecall in a container or as an unprivileged user when the snippets come from a model
you do not trust with those.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from typing import Any

from rolecall.tools.base import Tool, ToolError
from rolecall.tools.builtin.base import BuiltinTool, register_builtin

# Runs first in the child: limits on itself (hard limits cannot be raised again), then the snippet.
_RUNNER = r"""
import ast, resource, sys
cpu, memory, file_size = (int(value) for value in sys.argv[1:4])
limits = [(resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, file_size),
          (resource.RLIMIT_CORE, 0)]
if hasattr(resource, "RLIMIT_NPROC"):
    limits.append((resource.RLIMIT_NPROC, 0))
for kind, value in limits:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass
import traceback
source = sys.stdin.read()
try:
    tree = ast.parse(source, "<snippet>")
except SyntaxError as error:
    sys.stdout.write(f"SyntaxError: {error.msg} (line {error.lineno})\n")
    sys.exit(1)
last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
scope = {"__name__": "__main__"}
try:
    exec(compile(tree, "<snippet>", "exec"), scope)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<snippet>", "eval"), scope)
        if value is not None:
            print(repr(value))
except BaseException as error:  # the snippet's own traceback, without this runner's frame
    sys.stdout.flush()
    sys.stdout.write("".join(traceback.format_exception(type(error), error, error.__traceback__.tb_next)))
    sys.exit(1)
"""


_ARGUMENTS: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "the Python code to run"}},
    "required": ["code"],
    "additionalProperties": False,
}


class PythonSandbox(Tool):
    """Runs Python snippets in a limited child process (see the module's docstring for the limits)."""

    name = "python"
    description = (
        "Run a Python snippet and get what it prints (the value of a last bare expression is printed too). "
        "Standard library only; no network, no environment variables; each call starts fresh."
    )
    parameters = _ARGUMENTS
    source = "python"

    def __init__(
        self, *, cpu_seconds: int = 5, memory_mb: int = 256, wall_seconds: float = 15.0, output_chars: int = 8000
    ) -> None:
        self.cpu_seconds = cpu_seconds
        self.memory_mb = memory_mb
        self.wall_seconds = wall_seconds
        self.output_chars = output_chars

    async def run(self, arguments: dict[str, Any]) -> str:
        code = str(arguments["code"])
        with tempfile.TemporaryDirectory(prefix="rolecall-python-") as workdir:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-c", _RUNNER,
                str(self.cpu_seconds), str(self.memory_mb * 2**20), str(16 * 2**20),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                cwd=workdir, env={}, start_new_session=True,
            )  # fmt: skip
            try:
                output, problem = await self._collect(process, code)
            finally:
                await _end(process)
        text = output.decode("utf-8", "replace")
        if problem is None and process.returncode != 0:
            problem = self._explain(process.returncode if process.returncode is not None else -signal.SIGKILL, text)
        if problem is not None:
            raise ToolError(problem, output=text)
        return text if text.strip() else "(no output)"

    async def _collect(self, process: asyncio.subprocess.Process, code: str) -> tuple[bytes, str | None]:
        """What the child printed, up to the output limit, and the limit it broke (if any)."""
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(ConnectionError):
            process.stdin.write(code.encode("utf-8", "replace"))
            await process.stdin.drain()
            process.stdin.close()
        cap = self.output_chars * 4  # bytes: enough for the characters kept, whatever their encoding
        output = bytearray()

        async def read() -> str | None:
            assert process.stdout is not None
            while chunk := await process.stdout.read(65536):
                output.extend(chunk)
                if len(output) > cap:
                    return f"killed: printed more than {self.output_chars} characters"
            return None

        try:
            problem = await asyncio.wait_for(read(), self.wall_seconds)
        except TimeoutError:
            problem = f"killed: still running after {self.wall_seconds:g} s of wall-clock time"
        return bytes(output[:cap]), problem

    def _explain(self, code: int, output: str) -> str:
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            return f"killed: over the CPU time limit of {self.cpu_seconds} s"
        if "MemoryError" in output[-2000:]:
            return f"failed: over the memory limit of {self.memory_mb} MB"
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "")
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}" + (f": {last.strip()[:200]}" if last else "")


@register_builtin
class PythonBuiltin(BuiltinTool):
    """``python`` in a spec: a :class:`PythonSandbox` within the spec's ``tool_settings`` limits."""

    name = "python"
    description = "run a Python snippet in a separate, limited process"

    def tools(self) -> list[Tool]:
        limits = self.settings.python
        sandbox = PythonSandbox(
            cpu_seconds=limits.cpu_seconds, memory_mb=limits.memory_mb,
            wall_seconds=self.settings.timeout, output_chars=self.settings.output_chars,
        )  # fmt: skip
        return [sandbox]


async def _end(process: asyncio.subprocess.Process) -> None:
    """Kill the child's whole process group, then drain its pipe so the exit is seen."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            while process.stdout is not None and await process.stdout.read(65536):
                pass
            await process.wait()
