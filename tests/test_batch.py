"""Batches: planning, resuming, faults, retries, budgets, the replay cache, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall.batch import Batch, load_batch_spec, plan
from rolecall.cli import main
from rolecall.models import OpenAIChatModel
from rolecall.testing import FakeOpenAIServer, FakeResponse
from rolecall.transcripts import Reader

SPEC = """\
assistant_roles: [Python Programmer, Accountant, Chef]
user_roles: [Stock Trader, Baker]
tasks: [Plan a product launch, Write a budget]
samples: 2
max_turns: 3
seed: 7
"""
PLANNED = 3 * 2 * 2 * 2


def responder(request: dict[str, object]) -> str:
    """Instructor: two distinct instructions then done. Executor: a distinct solution."""
    messages = request["messages"]
    assert isinstance(messages, list)
    system = str(messages[0]["content"])
    if system.startswith("You write short, concrete tasks"):
        return json.dumps({"tasks": ["Plan a menu for a party", "Check the accounts"]})
    turns = sum(1 for message in messages if message["role"] == "assistant")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    if "who carries out your instructions" in system:
        return "<TASK_DONE>" if turns >= 2 else f"Instruction: do part {words[turns]} now\nInput: None"
    return f"Solution: part {words[turns]} is done carefully.\nNext request."


def spec_file(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(text)
    return path


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def batch(tmp_path: Path, server: FakeOpenAIServer, *extra: str, spec: Path | None = None) -> int:
    spec = spec or spec_file(tmp_path)
    argv = ["batch", str(spec), "--out", str(tmp_path / "out"), "--base-url", server.base_url, "--quiet", *extra]
    return main(argv)


def test_a_batch_holds_every_planned_conversation_once_and_reruns_skip(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, "--concurrency", "5") == 0
        first_requests = server.requests
        rows = lines(tmp_path / "out" / "conversations.jsonl")
        assert len(rows) == PLANNED and len({row["id"] for row in rows}) == PLANNED
        assert all(row["status"] == "ok" for row in rows)
        assert batch(tmp_path, server, "--concurrency", "2") == 0  # other limits: nothing is redone
        assert server.requests == first_requests
    jobs = plan(load_batch_spec(tmp_path / "batch.yaml"))
    assert {row["id"] for row in rows} == {job.id for job in jobs}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"] == {"planned": 24, "done": 24, "failed": 0, "remaining": 0, "failed_attempts": 0}
    assert manifest["spec"]["base"]["seed"] == 7 and manifest["rolecall_version"]


def test_ids_are_deterministic_and_samples_differ_in_seed(tmp_path: Path) -> None:
    spec = load_batch_spec(spec_file(tmp_path))
    first, second = plan(spec), plan(spec)
    assert [job.id for job in first] == [job.id for job in second]
    assert len({job.sampling_seed for job in first}) == len(first)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SPEC.replace("[Python Programmer, Accountant, Chef]", "[]"), "assistant_roles: the list of roles is empty"),
        (SPEC.replace("[Python Programmer, Accountant, Chef]", "missing_roles.txt"), "cannot read"),
        (SPEC.replace("samples: 2", "samples: 0"), "samples: Input should be greater than 0"),
        (SPEC + "tasks_per_pair: 3\n", "either tasks or tasks_per_pair"),
        (SPEC.replace("tasks: [Plan a product launch, Write a budget]\n", ""), "either tasks or tasks_per_pair"),
        (SPEC + "colour: red\n", "colour: unknown field"),
    ],
    ids=["empty-roles", "unreadable-roles-file", "zero-samples", "both-task-options", "no-task-option", "unknown"],
)
def test_bad_specs_exit_2_with_one_line(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, spec=spec_file(tmp_path, text)) == 2
        assert server.requests == 0
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error


def test_unwritable_output_exits_2_before_any_model_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with FakeOpenAIServer(responder) as server:
        argv = ["batch", str(spec_file(tmp_path)), "--out", str(blocker / "out"), "--base-url", server.base_url]
        assert main(argv) == 2
        assert server.requests == 0
    assert "cannot write the batch here" in capsys.readouterr().err


def test_roles_from_files_and_generated_tasks_are_saved_and_reused(tmp_path: Path) -> None:
    (tmp_path / "assistants.txt").write_text("Chef\n\nAccountant\n")
    (tmp_path / "users.txt").write_text("Baker\n")
    text = "assistant_roles: assistants.txt\nuser_roles: users.txt\ntasks_per_pair: 2\nsamples: 1\nmax_turns: 3\n"
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, spec=spec_file(tmp_path, text)) == 0
        saved = lines(tmp_path / "out" / "tasks.jsonl")
        assert len(saved) == 2 and saved[0]["tasks"] == ["Plan a menu for a party", "Check the accounts"]
        generator_calls = sum(1 for body in server.bodies if "short, concrete tasks" in str(body["messages"][0]))
        assert batch(tmp_path, server, spec=spec_file(tmp_path, text)) == 0
        again = sum(1 for body in server.bodies if "short, concrete tasks" in str(body["messages"][0]))
    assert generator_calls == again == 2
    rows = lines(tmp_path / "out" / "conversations.jsonl")
    assert len(rows) == 4 and {row["task"]["original"] for row in rows} == set(saved[0]["tasks"])  # type: ignore[arg-type, index]


def test_faults_end_ok_or_failed_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    rng = random.Random(3)

    def faulty(request: dict[str, object]) -> str | FakeResponse:
        draw = rng.random()
        if draw < 0.033:
            return FakeResponse(status=500)
        if draw < 0.066:
            return FakeResponse(status=429, headers={"Retry-After": "0"})
        if draw < 0.1:
            return FakeResponse(drop=True)
        return responder(request)

    with FakeOpenAIServer(faulty) as server:
        assert batch(tmp_path, server, "--concurrency", "8") in (0, 1)
    rows = lines(tmp_path / "out" / "conversations.jsonl")
    assert len(rows) == PLANNED and len({row["id"] for row in rows}) == PLANNED
    assert all(row["status"] in ("ok", "failed") for row in rows)
    retries = sum(m["retries"] for row in rows for m in row["messages"])  # type: ignore[attr-defined, index]
    assert retries > 0


def test_failed_conversations_are_recorded_retried_and_finally_failed(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, SPEC.replace("samples: 2", "samples: 1") + "max_attempts: 2\n")
    with FakeOpenAIServer(lambda request: FakeResponse(status=400)) as server:
        assert batch(tmp_path, server, spec=spec) == 1
    failures = lines(tmp_path / "out" / "failures.jsonl")
    rows = lines(tmp_path / "out" / "conversations.jsonl")
    assert len(failures) == 2 * 12 and len(rows) == 12
    assert all(row["status"] == "failed" and "HTTP 400" in row["error"]["message"] for row in rows)  # type: ignore[index]


def test_a_budget_stops_cleanly_and_a_rerun_continues(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, SPEC + "budget: {tokens: 3000}\n")
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, "--concurrency", "2", spec=spec) == 1
        partial = lines(tmp_path / "out" / "conversations.jsonl")
        assert 0 < len(partial) < PLANNED
        assert all(row["status"] == "ok" for row in partial)
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert manifest["stopped"] == "budget" and manifest["counts"]["remaining"] == PLANNED - len(partial)
        assert batch(tmp_path, server, "--concurrency", "2") == 0  # the spec without a budget
    rows = lines(tmp_path / "out" / "conversations.jsonl")
    assert len(rows) == PLANNED and len({row["id"] for row in rows}) == PLANNED


def test_the_cache_replays_a_batch_offline_with_the_same_replies(tmp_path: Path) -> None:
    cache = tmp_path / "replies.sqlite"
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, "--cache", str(cache)) == 0
    first = {
        row["id"]: [m["content"] for m in row["messages"]] for row in lines(tmp_path / "out" / "conversations.jsonl")
    }  # type: ignore[attr-defined]
    (tmp_path / "out" / "conversations.jsonl").unlink()
    offline = ["batch", str(tmp_path / "batch.yaml"), "--out", str(tmp_path / "out"), "--quiet", "--cache", str(cache)]
    assert main([*offline, "--base-url", "http://127.0.0.1:9/v1"]) == 0
    again = {
        row["id"]: [m["content"] for m in row["messages"]] for row in lines(tmp_path / "out" / "conversations.jsonl")
    }  # type: ignore[attr-defined]
    assert again == first


def test_many_conversations_run_concurrently(tmp_path: Path) -> None:
    spec = load_batch_spec(spec_file(tmp_path))
    peak = {"now": 0, "max": 0}

    def slow(request: dict[str, object]) -> FakeResponse:
        return FakeResponse(text=responder(request), delay=0.05)

    async def run(url: str) -> None:
        def watch(progress: object) -> None:
            peak["max"] = max(peak["max"], progress.in_flight)  # type: ignore[attr-defined]

        model = OpenAIChatModel("m", base_url=url)
        await Batch(spec, tmp_path / "out", model, concurrency=12, on_change=watch).run()
        await model.aclose()

    started = time.monotonic()
    with FakeOpenAIServer(slow) as server:
        asyncio.run(run(server.base_url))
    assert peak["max"] == 12
    assert time.monotonic() - started < 24 * 5 * 0.05  # far less than one at a time


SERVER = """
import itertools, json, sys, time
sys.path.insert(0, {tests!r})
from test_batch import responder
from rolecall.testing import FakeOpenAIServer
server = FakeOpenAIServer(responder, latency=0.02).start()
print(server.base_url, flush=True)
time.sleep(600)
"""


def test_kill_9_at_random_moments_then_rerun_loses_and_doubles_nothing(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(Path(__file__).parent))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        spec = spec_file(tmp_path)
        argv = [sys.executable, "-m", "rolecall.cli", "batch", str(spec), "--out", str(tmp_path / "out"),
                "--base-url", url, "--concurrency", "4", "--quiet"]  # fmt: skip
        rng = random.Random(11)
        for _ in range(3):
            run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.8, 2.0))
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
        assert subprocess.run(argv, check=False, capture_output=True, timeout=300).returncode == 0
    finally:
        server.kill()
        server.communicate()  # reaped, its pipe closed
    reader = Reader()
    rows = list(reader.read([tmp_path / "out" / "conversations.jsonl"]))
    assert reader.bad == []
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)) == PLANNED


def test_the_ray_engine_gives_the_same_outputs_ids_and_resume(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder) as server:
        assert batch(tmp_path, server, "--engine", "ray", "--concurrency", "4") == 0
        rows = lines(tmp_path / "out" / "conversations.jsonl")
        requests = server.requests
        assert batch(tmp_path, server, "--engine", "ray") == 0  # a rerun finds everything done
        assert server.requests == requests
    assert len(rows) == PLANNED and len({row["id"] for row in rows}) == PLANNED
    jobs = plan(load_batch_spec(tmp_path / "batch.yaml"))
    assert {row["id"] for row in rows} == {job.id for job in jobs}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["done"] == PLANNED and manifest["counts"]["remaining"] == 0
