"""Batches run any spec: task-graph role-plays and three-agent societies, resumed after kill -9, harvested."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rolecall.batch import load_batch_spec, plan
from rolecall.cli import main
from rolecall.errors import SpecError
from rolecall.transcripts import Reader

GRAPH_BATCH = """\
assistant_roles: [Web Developer, Copywriter]
user_roles: [Musician]
tasks: [Promote a new album, Announce a tour]
samples: 2
max_turns: 8
seed: 3
guards: {echo: off}
subtasks:
  - {id: design, title: Choose a layout}
  - {id: pages, title: Write the pages, after: [design]}
"""
SOCIETY_BATCH = """\
agents:
  - {name: Priya, role: Product Manager}
  - {name: Sam, role: Engineer}
  - {name: Rae, role: Reviewer}
turns: {policy: round_robin}
tasks: [Build a word counter, Build a line counter, Build a byte counter]
samples: 2
max_turns: 9
seed: 5
"""


PAGE_PARTS = ["the header of the pages with the album cover", "the album's track list with song lengths",
              "a table of the album tour dates", "a layout for the album's contact page",
              "the pages' short biography of the musician", "links to every shop selling the album"]  # fmt: skip


def responder(request: dict[str, object]) -> str:
    """Instructor: one instruction per subtask, then done. Executor: a solution. Members: a line each, then done.

    Every reply names the conversation's sampling seed, so no two conversations are duplicates.
    """
    messages = request["messages"]
    assert isinstance(messages, list)
    system, last, seed = str(messages[0]["content"]), str(messages[-1]["content"]), request.get("seed")
    spoken = sum(message["role"] == "assistant" for message in messages)
    if "carries out your instructions" in system:
        return (
            "<TASK_DONE>"
            if last.startswith("Solution:")
            else f"Instruction: for {seed}, write {PAGE_PARTS[len(messages) % len(PAGE_PARTS)]}\nInput: None"
        )
    if "You lead the team" in system:
        return "<TASK_DONE>" if spoken >= 2 else f"We start with requirement {spoken + 1} of {seed}: count every word."
    if "You work in a team" in system:
        parts = ["the parser reads every file", "the counter skips blank lines", "the tests cover empty input",
                 "the report prints one total", "the option --verbose lists each file"]  # fmt: skip
        return f"Done on my side of {seed}: {parts[(len(messages) + ord(system[8])) % len(parts)]}."
    return f"Solution: part {len(messages)} of {seed} is done, with care.\nNext request."


SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from test_batch_any_spec import responder
from rolecall.testing import FakeOpenAIServer
server = FakeOpenAIServer(responder, latency=0.03).start()
print(server.base_url, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize(
    ("text", "planned", "ending"),
    [(GRAPH_BATCH, 8, "graph_complete"), (SOCIETY_BATCH, 6, "task_done")],
    ids=["task-graph", "society"],
)
def test_a_batch_of_any_spec_runs_resumes_after_kill_9_and_harvests(
    text: str, planned: int, ending: str, tmp_path: Path
) -> None:
    spec = tmp_path / "batch.yaml"
    spec.write_text(text)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(Path(__file__).parent))], stdout=subprocess.PIPE, text=True
    )
    out = tmp_path / "out"
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        argv = [sys.executable, "-m", "rolecall.cli", "batch", str(spec), "--out", str(out), "--base-url", url,
                "--concurrency", "2", "--quiet"]  # fmt: skip
        first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (out / "conversations.jsonl").exists() or not (out / "conversations.jsonl").read_bytes():
            assert time.monotonic() < deadline, "no conversation landed"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)  # mid-batch: some done, some in flight
        first.wait()
        assert subprocess.run(argv, check=False, capture_output=True, timeout=300).returncode == 0
    finally:
        server.kill()
        server.communicate()  # reaped, its pipe closed
    reader = Reader()
    rows = list(reader.read([out / "conversations.jsonl"]))
    assert reader.bad == []
    assert sorted(row.id for row in rows) == sorted(job.id for job in plan(load_batch_spec(spec)))
    assert len(rows) == planned
    assert {row.termination.reason for row in rows if row.termination} == {ending}
    if ending == "graph_complete":
        assert all(len((row.task_graph or {})["nodes"]) == 2 for row in rows)
    else:
        assert all(len({message.speaker for message in row.messages}) == 3 for row in rows)
    perspective = "assistant" if ending == "graph_complete" else "Sam"
    dataset = tmp_path / "dataset"
    assert main(["harvest", "--judge", "lexical", str(out), "--format", "openai", "--out", str(dataset),
                 "--perspective", perspective, "--no-near-dup", "--quiet"]) == 0  # fmt: skip
    report = json.loads((dataset / "harvest_report.json").read_text())
    assert report["kept"] == planned


def test_a_batch_spec_says_what_varies() -> None:
    from rolecall.batch import BatchSpec

    with pytest.raises(ValueError, match="task: a batch varies it: give tasks"):
        BatchSpec.model_validate({"assistant_roles": ["A"], "user_roles": ["U"], "tasks": ["t"], "task": "x"})
    with pytest.raises(ValueError, match="a society batch has its members in agents"):
        BatchSpec.model_validate({"agents": [], "assistant_roles": ["A"], "tasks": ["t"]})
    spec = BatchSpec.model_validate({"assistant_roles": ["A"], "user_roles": ["U"], "tasks": ["t"], "max_turs": 3})
    with pytest.raises(SpecError, match="max_turs: unknown field"):
        spec.template()
