"""Harvest throughput and memory on a synthetic corpus: 100,000 conversations of 10 turns.

Writes the corpus (about 1 GB of JSONL; 3% exact and 3% near duplicates) once to a cache
folder, then harvests it to the ``openai`` format with near-duplicate detection on, in a
child process whose peak resident memory is read from the kernel.

    python bench/harvest.py [--conversations 100000] [--turns 10] [--workdir /tmp/rolecall-bench]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

WORDS = (
    "market price trade order risk stock bond fund signal trend volume data model test code plan budget cost "
    "report chart alert broker account cash yield rate index sector profit loss hedge option future spread "
    "average window daily weekly monthly strategy backtest metric limit position entry exit stop target"
).split()


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def conversation(number: int, turns: int, rng: random.Random) -> dict[str, object]:
    messages = []
    for turn in range(1, turns + 1):
        for speaker, role, text in (
            ("Stock Trader", "user", f"Instruction: {sentence(rng, 14)}\nInput: None"),
            ("Python Programmer", "assistant", f"Solution: {sentence(rng, 40)}\nNext request."),
        ):
            messages.append({
                "index": len(messages), "turn": turn, "speaker": speaker, "role": role, "content": text,
                "model": "bench-model", "usage": {"prompt_tokens": 300, "completion_tokens": 60},
                "latency_ms": 900.0, "finish_reason": "stop", "retries": 0, "created_at": "2026-11-28T00:00:00Z",
            })  # fmt: skip
    messages.append({
        "index": len(messages), "turn": turns + 1, "speaker": "Stock Trader", "role": "user",
        "content": "<TASK_DONE>", "usage": {"prompt_tokens": 300, "completion_tokens": 3},
    })  # fmt: skip
    return {
        "schema_version": 1, "id": f"bench-{number:07d}", "status": "ok", "created_at": "2026-11-28T00:00:00Z",
        "finished_at": "2026-11-28T00:01:00Z", "rolecall_version": "bench",
        "task": {"original": f"Task {number % 5000}", "specified": None},
        "agents": [
            {"name": "Stock Trader", "role": "Stock Trader", "kind": "user", "system_prompt": "You instruct.",
             "model": "bench-model", "params": {}},
            {"name": "Python Programmer", "role": "Python Programmer", "kind": "assistant",
             "system_prompt": "You solve.", "model": "bench-model", "params": {}},
        ],
        "kickoff": "Now give me the first instruction.", "messages": messages,
        "termination": {"reason": "task_done", "turn": turns + 1, "detail": None},
        "usage": {"prompt_tokens": 6000, "completion_tokens": 1200, "cost_usd": None},
        "task_graph": None, "events": [], "error": None, "done_token": "<TASK_DONE>",
    }  # fmt: skip


def make_corpus(path: Path, count: int, turns: int) -> None:
    rng = random.Random(7)
    previous: dict[str, object] | None = None
    with path.open("w") as handle:
        for number in range(count):
            draw = rng.random()
            if previous is not None and draw < 0.03:  # an exact duplicate under a new id
                record = previous | {"id": f"bench-{number:07d}"}
            elif previous is not None and draw < 0.06:  # a near duplicate: one solution reworded
                record = json.loads(json.dumps(previous)) | {"id": f"bench-{number:07d}"}
                record["messages"][1]["content"] = f"Solution: {sentence(rng, 40)}\nNext request."  # type: ignore[index]
            else:
                record = conversation(number, turns, rng)
            handle.write(json.dumps(record) + "\n")
            previous = record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rolecall-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.workdir / f"corpus-{args.conversations}-{args.turns}.jsonl"
    if not corpus.exists():
        started = time.perf_counter()
        make_corpus(corpus.with_suffix(".tmp"), args.conversations, args.turns)
        corpus.with_suffix(".tmp").rename(corpus)
        print(f"corpus written in {time.perf_counter() - started:.0f} s")
    size_mb = corpus.stat().st_size / 1e6
    out = args.workdir / "dataset"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rolecall.cli",
            "harvest",
            str(corpus),
            "--format",
            "openai",
            "--out",
            str(out),
            "--judge",
            "lexical",
        ],
        check=True,
    )
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads((out / "harvest_report.json").read_text())
    print(f"corpus: {args.conversations} conversations x {args.turns} turns, {size_mb:.0f} MB")
    print(f"harvest to openai with near-dup: {elapsed:.1f} s, {args.conversations / elapsed:,.0f} conversations/s")
    print(f"peak memory (harvest process): {peak_mb:.0f} MB  (targets: < 60 s, < 500 MB)")
    print(f"kept {report['kept']}, dedup {report['dedup']}")


if __name__ == "__main__":
    main()
