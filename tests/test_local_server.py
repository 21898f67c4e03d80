"""The embedded server's lifecycle against a stand-in that crashes as llama.cpp did on AMX machines.

No llama.cpp here: ``tests/fake_llama_server.py`` answers as ``llama-server`` does and dies with
SIGSEGV when told to, so these run everywhere and fast. What they pin down: a server that crashes
on its first real prompt with the extra weight layouts is started again without them; one that
always crashes is one line naming the signal and its last output; one that dies mid-run fails the
conversation at once (saved, never retried), and stops a batch, whose rerun holds what is left.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from rolecall.cli import main
from rolecall.errors import LocalModelError, one_line
from rolecall.models.local import LocalServer, exit_reason
from rolecall.transcripts import read

FAKE = Path(__file__).with_name("fake_llama_server.py")


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    """An executable that runs the stand-in with whatever arguments LocalServer passes."""
    script = tmp_path / "llama-server"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    script.chmod(0o755)
    return script


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_exit_reasons_name_the_signal() -> None:
    assert exit_reason(-11) == "killed by SIGSEGV (Segmentation fault)"
    assert exit_reason(-6).startswith("killed by SIGABRT")
    assert exit_reason(3) == "exited with code 3"


def test_a_crash_with_the_extra_layouts_restarts_the_server_without_them(
    fake_binary: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_CRASH", "layouts")
    with (
        caplog.at_level(logging.WARNING, "rolecall.models.local"),
        LocalServer(binary=fake_binary, gguf=gguf) as server,
    ):
        assert server.extra_layouts is False and "--no-repack" in server.command()
        server.check()  # alive: nothing raised
    [warning] = [record.getMessage() for record in caplog.records]
    assert "killed by SIGSEGV" in warning and "without them" in warning


def test_a_server_that_always_crashes_is_one_line_with_the_signal_and_its_last_output(
    fake_binary: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLAMA_CRASH", "always")
    server = LocalServer(binary=fake_binary, gguf=gguf)
    with pytest.raises(LocalModelError) as raised:
        server.start()
    message = str(raised.value)
    assert message == one_line(message)
    assert "killed by SIGSEGV (Segmentation fault)" in message
    assert "ggml_backend_amx_mul_mat: the fake native bug" in message
    assert server._process is None  # stopped, nothing left running


def test_a_server_that_works_is_probed_with_a_real_prompt_once(fake_binary: Path, gguf: Path) -> None:
    with LocalServer(binary=fake_binary, gguf=gguf, slots=3) as server:
        assert server.extra_layouts is True
        command = server.command()
        assert command[command.index("--parallel") + 1] == "3"
        assert command[command.index("--ctx-size") + 1] == str(3 * LocalServer.DEFAULT_N_CTX)
        assert command[command.index("--repeat-penalty") + 1] == "1.1"  # the previous engine's default


def _run_against(fake_binary: Path, monkeypatch: pytest.MonkeyPatch, crash: str) -> None:
    monkeypatch.setenv("ROLECALL_LLAMA_SERVER", str(fake_binary))
    monkeypatch.setenv("FAKE_LLAMA_CRASH", crash)


def test_a_server_that_dies_mid_run_fails_the_conversation_at_once_and_saves_it(
    fake_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run_against(fake_binary, monkeypatch, "after:3")  # the probe, then two turns
    out = tmp_path / "runs.jsonl"
    argv = ["run", "--assistant-role", "Baker", "--user-role", "Owner", "--task", "Bake rye", "--no-plan",
            "--no-json-turns", "--max-turns", "5", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the embedded model server killed by SIGSEGV" in err[0]
    assert "attempt" not in err[0]  # said at once, not after retries against a dead process
    [transcript] = read(out)
    assert transcript.status == "failed"
    assert transcript.termination is not None and transcript.termination.reason == "error"
    assert transcript.error is not None and transcript.error.type == "LocalModelError"
    assert [message.content for message in transcript.messages] == [
        "Instruction: step 1\nInput: None",
        "Solution: did step 1.\nNext request.",
    ]


def test_a_batch_stops_when_the_server_dies_and_a_rerun_holds_the_rest(
    fake_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "batch.yaml"
    spec.write_text(
        "assistant_roles: [Baker]\nuser_roles: [Owner]\ntasks: [Bake rye, Bake spelt, Bake oat, Bake barley]\n"
        "max_turns: 4\nseed: 1\nplan: false\nassist: {json_turns: false}\n"
    )
    out = tmp_path / "data"
    _run_against(fake_binary, monkeypatch, "after:8")  # the probe, one whole conversation (5 calls), then two
    assert main(["batch", str(spec), "--out", str(out), "--concurrency", "1", "--quiet"]) == 1
    assert "stopped: the embedded model server died" in capsys.readouterr().out
    done = list(read(out / "conversations.jsonl"))
    assert [transcript.status for transcript in done] == ["ok"]
    [failed] = read(out / "failures.jsonl")
    assert failed.error is not None and "SIGSEGV" in failed.error.message
    assert len(done[0].messages) + len(failed.messages) == 7  # every reply paid for is saved (8 answers, the probe)
    _run_against(fake_binary, monkeypatch, "")
    assert main(["batch", str(spec), "--out", str(out), "--concurrency", "1", "--quiet"]) == 0
    finished = list(read(out / "conversations.jsonl"))
    assert sorted(transcript.task.original for transcript in finished) == [
        "Bake barley", "Bake oat", "Bake rye", "Bake spelt",
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped"] is None
