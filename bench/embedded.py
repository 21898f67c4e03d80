"""Conversations per minute on the embedded model: the previous default against llama.cpp's server, same spec and seeds.

Sides, each ``rolecall batch`` on the same seeded spec (``--model SmolLM2-135M-Instruct``, so the
embedded defaults apply: JSON turns and a plan of steps):

* **before**: the previous default engine, llama-cpp-python's server with rolecall's old patches
  (``bench/_llama_cpp_python_server.py``: usage in streams, the grammar checked on the drawn
  token; its RAM prompt cache, a prompt batch of 64), one call at a time, at concurrency 2 (the
  previous default). Needs llama-cpp-python (``make bench`` installs it).
* **after**: ``LocalServer`` with its defaults (llama.cpp's ``llama-server``, 16 slots decoded
  together, each keeping its prompt), at concurrency 1, 2, 4 and 8.

Printed for each: conversations per minute, completion tokens per second of wall time (the whole
batch: prompts, decoding, rolecall), the server's average busy slots per forward pass, and the
decode ceiling (``bench/decode_ceiling.py``: ``llama_decode`` alone on that many sequences). At
concurrency 1 the seeded batch is run again on a fresh server (as each ``rolecall batch`` starts
its own): are its transcripts identical?

    python bench/embedded.py [--conversations 16] [--turns 3] [--no-before]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx2
from decode_ceiling import ceiling

from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer, free_port, model_file

WORDS = "flour butter sugar yeast oven crust loaf rye spelt dough proof bake knead salt water milk".split()
CONCURRENCY = (1, 2, 4, 8)
BEFORE_CONCURRENCY = 2


def spec_text(conversations: int, turns: int) -> str:
    tasks = [
        f"Plan the {WORDS[n % len(WORDS)]} bread for market day {n // len(WORDS) + 1}" for n in range(conversations)
    ]
    return (
        "assistant_roles: [Baker]\nuser_roles: [Shop Owner]\n"
        f"tasks: {json.dumps(tasks)}\nmax_turns: {turns}\nseed: 5\nparams: {{temperature: 0.7, max_tokens: 160}}\n"
    )


def run_batch(url: str, spec: Path, out: Path, concurrency: int) -> dict[str, Any]:
    """One seeded batch against ``url``: wall seconds, each conversation's texts (by id), tokens."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rolecall.cli", "batch", str(spec), "--out", str(out), "--base-url", url,
         "--model", LOCAL_MODEL_NAME, "--concurrency", str(concurrency), "--quiet"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    records = sorted((json.loads(line) for line in (out / "conversations.jsonl").open()), key=lambda r: r["id"])
    return {
        "seconds": seconds,
        "conversations": len(records),
        "texts": [[message["content"] for message in record["messages"]] for record in records],
        "completion": sum(record["usage"]["completion_tokens"] for record in records),
    }


def busy_slots(base_url: str) -> float:
    """The server's average number of busy slots per ``llama_decode`` call (its /metrics)."""
    text = httpx2.get(base_url.removesuffix("/v1") + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("llamacpp:n_busy_slots_per_decode "):
            return float(line.split()[1])
    return float("nan")


class PreviousServer:
    """llama-cpp-python's server as rolecall started it before llama.cpp's own server (the 'before' side)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threads = str(os.cpu_count() or 1)
        self.command = [
            sys.executable, str(Path(__file__).with_name("_llama_cpp_python_server.py")),
            "--model", str(model_file()), "--model_alias", LOCAL_MODEL_NAME, "--host", "127.0.0.1",
            "--port", str(self.port), "--n_ctx", "2048", "--n_threads", threads, "--n_threads_batch", threads,
            "--n_batch", "64", "--cache", "True", "--cache_type", "ram", "--cache_size", str(1 << 30),
        ]  # fmt: skip

    def __enter__(self) -> PreviousServer:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit("llama-cpp-python's server did not start (make bench installs llama-cpp-python)")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--no-before", dest="before", action="store_false", help="skip llama-cpp-python's side")
    options = parser.parse_args()
    rows: list[tuple[str, int, dict[str, Any], float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "batch.yaml"
        spec.write_text(spec_text(options.conversations, options.turns))
        if options.before:
            with PreviousServer() as previous:
                batch = run_batch(previous.base_url, spec, Path(scratch) / "before", BEFORE_CONCURRENCY)
            rows.append(("before: llama-cpp-python's server", BEFORE_CONCURRENCY, batch, 1.0))
        with LocalServer() as server:
            for concurrency in CONCURRENCY:
                batch = run_batch(server.base_url, spec, Path(scratch) / f"after{concurrency}", concurrency)
                rows.append(("after: llama.cpp's server", concurrency, batch, busy_slots(server.base_url)))
        with LocalServer() as fresh:  # as each `rolecall batch` starts its own: from a fresh server
            again = run_batch(fresh.base_url, spec, Path(scratch) / "again", 1)
    rates, layouts = ceiling(list(CONCURRENCY), 300, 128, extra_layouts=True)
    print(f"\n{options.conversations} seeded conversations x {options.turns} turns, embedded SmolLM2-135M, "
          f"{os.cpu_count()} cores; extra buffer types in use: {layouts or 'none'}")  # fmt: skip
    print(f"{'side':<36} {'c':>2} {'conv/min':>9} {'compl. tok/s':>13} {'busy slots':>11} {'ceiling tok/s':>14}")
    for label, concurrency, batch, busy in rows:
        per_minute = batch["conversations"] / batch["seconds"] * 60
        batch["per_minute"] = per_minute
        rate = batch["completion"] / batch["seconds"]
        limit = rates.get(concurrency, float("nan")) if label.startswith("after") else rates.get(1, float("nan"))
        print(f"{label:<36} {concurrency:>2} {per_minute:>9.2f} {rate:>13.1f} {busy:>11.2f} {limit:>14.1f}")
    after = {concurrency: batch for label, concurrency, batch, _ in rows if label.startswith("after")}
    if options.before:
        before = rows[0][2]["per_minute"]
        for concurrency, batch in after.items():
            print(f"after at concurrency {concurrency}: {batch['per_minute'] / before:.2f}x the conversations a minute "
                  f"of before at concurrency {BEFORE_CONCURRENCY}")  # fmt: skip
    same = again["texts"] == after[1]["texts"]
    print(f"seeded transcripts identical when run again at concurrency 1 on a fresh server: {same}")


if __name__ == "__main__":
    main()
