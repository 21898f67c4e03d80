"""Shared fixtures: a clean environment and scripted dialogue material."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

from rolecall.models.requests import only_allowed
from rolecall.testing import FakeOpenAIServer

# Property tests: a bounded run in CI (seconds), a long one under `make fuzz` (HYPOTHESIS_PROFILE=fuzz).
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("fuzz", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Native model code never runs in the test process: one crash there would take every report with it."""
    loaded = sorted(name for name in ("llama_cpp", "llama_cpp.llama") if name in sys.modules)
    if loaded:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nllama.cpp was loaded into the pytest process ({', '.join(loaded)}): run it as a server instead")


@pytest.fixture(autouse=True)
def _no_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a real endpoint or key from the machine."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ROLECALL_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _only_servers_started_here(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test reaches only the model servers it (or a fixture) started, unless it says otherwise."""
    if request.node.get_closest_marker("model_requests") is not None:
        yield
        return
    with only_allowed() as refused:
        yield
    if refused:
        pytest.fail(f"the test reached a model it did not start ({refused[0]}); mark it model_requests if it means to")


def roleplay_responder(request: dict[str, object]) -> str:
    """Answers as instructor or executor depending on the system prompt; done after 3 turns."""
    messages = request["messages"]
    assert isinstance(messages, list)
    system = str(messages[0]["content"])
    turns = sum(1 for message in messages if message["role"] == "assistant")
    if "who carries out your instructions" in system:
        return "<TASK_DONE>" if turns >= 2 else f"Instruction: step {turns + 1}\nInput: None"
    return f"Solution: did step {turns + 1}.\nNext request."


@pytest.fixture
def roleplay_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(roleplay_responder) as server:
        yield server
