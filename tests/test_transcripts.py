"""Transcript records and their JSONL store: round trips, crash safety, bad lines reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall import RolePlay, SpecError, Transcript
from rolecall.testing import ScriptedModel
from rolecall.transcripts import Reader, append, find, json_schema, read

CONTRACT_FIELDS = {
    "schema_version", "id", "status", "created_at", "finished_at", "rolecall_version", "task", "agents",
    "messages", "termination", "usage", "task_graph", "events", "error",
}  # fmt: skip
MESSAGE_FIELDS = {
    "index", "speaker", "role", "content", "model", "usage", "latency_ms", "finish_reason", "retries", "created_at",
}  # fmt: skip


def sample(task: str = "Write a haiku", seed: int | None = 1) -> Transcript:
    return RolePlay(
        task, assistant_role="Poet", user_role="Editor", seed=seed,
        user_model=ScriptedModel(["Instruction: write\nInput: None", "<TASK_DONE>"]),
        assistant_model=ScriptedModel(["Solution: an old pond — a frog jumps in.\nNext request."]),
    ).run()  # fmt: skip


def test_contract_fields_are_present() -> None:
    data = json.loads(sample().to_json())
    assert set(data) >= CONTRACT_FIELDS
    assert data["schema_version"] == 2
    assert set(data["task"]) >= {"original", "specified"}
    assert set(data["termination"]) >= {"reason", "turn", "detail"}
    assert set(data["usage"]) >= {"prompt_tokens", "completion_tokens", "cost_usd"}
    assert set(data["agents"][0]) >= {"name", "role", "kind", "system_prompt", "model", "params"}
    for message in data["messages"]:
        assert set(message) >= MESSAGE_FIELDS
        assert set(message["usage"]) == {"prompt_tokens", "completion_tokens"}
    assert data["created_at"].endswith("Z") and data["finished_at"].endswith("Z")


def test_json_round_trip_is_exact() -> None:
    transcript = sample()
    line = transcript.to_json()
    assert "\n" not in line
    again = Transcript.from_json(line)
    assert again == transcript
    assert again.to_json() == line


def test_store_appends_whole_lines_and_reads_them_back(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "runs.jsonl"
    first, second = sample("one"), sample("two")
    append(path, first)
    append(path, second)
    assert path.read_text().count("\n") == 2
    assert [t.id for t in read(path)] == [first.id, second.id]
    assert find(path, second.id[:6]).task.original == "two"
    assert find(path).id == second.id
    with pytest.raises(SpecError, match="no conversation 'nope'"):
        find(path, "nope")


def test_bad_lines_are_reported_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = sample().to_json()
    future = json.loads(good) | {"schema_version": 99}
    path.write_text("\n".join([good, "{not json", json.dumps(future), "[1, 2]", good]) + "\n" + good[:50])
    reader = Reader()
    assert len(list(reader.read([path]))) == 2
    assert [(bad.line, bad.reason.split(" (")[0].split(":")[0]) for bad in reader.bad] == [
        (2, "not JSON"), (3, "unknown schema_version 99"), (4, "not a JSON object"), (6, "truncated line"),
    ]  # fmt: skip
    assert str(reader.bad[0]).startswith(f"{path}:2: ")


def test_append_after_a_torn_line_drops_the_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    whole = sample().to_json() + "\n"
    path.write_text(whole + '{"schema_version": 1, "id": "half')
    append(path, sample())
    reader = Reader()
    assert len(list(reader.read([path]))) == 2
    assert reader.bad == []
    assert path.read_text().startswith(whole)


def test_kill_9_mid_write_never_leaves_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    writer = (
        "import sys; from rolecall.transcripts import append, Transcript\n"
        "t = Transcript.from_json(sys.stdin.read())\n"
        f"while True: append({str(path)!r}, t, fsync=False)\n"
    )
    big = sample().model_copy(update={"kickoff": "x" * 200_000})
    process = subprocess.Popen([sys.executable, "-c", writer], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(big.to_json().encode())
    process.stdin.close()
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 3_000_000) and process.poll() is None:
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.01)
    assert process.poll() is None, "the writer died before it was killed"
    os.kill(process.pid, 9)
    process.wait()
    before = Reader()
    count = sum(1 for _ in before.read([path]))
    assert count >= 10
    # Linux may cut a large write short on SIGKILL: at most the last line is torn, and reported.
    assert [bad.reason.startswith("truncated") for bad in before.bad] in ([], [True])
    append(path, sample())
    after = Reader()
    assert sum(1 for _ in after.read([path])) == count + 1
    assert after.bad == []


def test_schema_describes_the_record() -> None:
    schema = json_schema()
    assert schema["title"] == "Transcript"
    assert set(schema["properties"]) >= CONTRACT_FIELDS


def test_no_api_key_in_a_transcript() -> None:
    os.environ["OPENAI_API_KEY"] = "sk-secret-should-never-appear"
    try:
        assert "sk-secret" not in sample().to_json()
    finally:
        del os.environ["OPENAI_API_KEY"]
