"""The embedded model's throughput: prompt and completion tokens per second, settings chosen by measurement,
and conversations per minute with and without the prompt cache, on the same batch spec and seeds.

Each side starts its own llama.cpp server (``LocalServer``, the code path ``rolecall run`` and
``rolecall serve`` use): "before" as rolecall started it before this work (no prompt cache, llama.cpp's
default prompt batch of 512, the grammar run over every candidate), "after" with today's defaults;
each runs ``rolecall batch`` against it (``--model SmolLM2-135M-Instruct``, so the embedded
defaults apply: JSON turns and a plan of steps).
Reported per side:

* prompt tokens per second: a fresh 1,500-token prompt answered with one token;
* completion tokens per second: 128 tokens after a short prompt, minus that prompt's time;
* conversations per minute of a seeded batch, at concurrency 1 and 2;
* whether the transcripts are identical to the uncached run's (seeded sampling).

    python bench/embedded.py [--conversations 6] [--turns 3] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer

WORDS = "flour butter sugar yeast oven crust loaf rye spelt dough proof bake knead salt water milk".split()


def spec_text(conversations: int, turns: int) -> str:
    tasks = [f"Plan the {word} bread for the weekend market" for word in WORDS[:conversations]]
    return (
        "assistant_roles: [Baker]\nuser_roles: [Shop Owner]\n"
        f"tasks: {json.dumps(tasks)}\nmax_turns: {turns}\nseed: 5\nparams: {{temperature: 0.7, max_tokens: 160}}\n"
    )


def post(url: str, messages: list[dict[str, str]], max_tokens: int, seed: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    body = {"model": LOCAL_MODEL_NAME, "messages": messages, "max_tokens": max_tokens, "seed": seed, "temperature": 1}
    response = httpx2.post(f"{url}/chat/completions", json=body, timeout=600)
    response.raise_for_status()
    return response.json(), time.perf_counter() - started


def token_rates(url: str) -> tuple[float, float]:
    """Prompt and completion tokens per second (medians of three)."""
    prompt_rates, completion_rates = [], []
    for attempt in range(3):
        long = " ".join(WORDS[(attempt + n) % len(WORDS)] for n in range(1100))  # a new prompt each time
        reply, seconds = post(url, [{"role": "user", "content": long}], 1, attempt)
        prompt_rates.append(reply["usage"]["prompt_tokens"] / seconds)
        short = [{"role": "user", "content": f"Write a long story about bread number {attempt}."}]
        reply, seconds = post(url, short, 128, attempt)
        prompt_seconds = reply["usage"]["prompt_tokens"] / prompt_rates[-1]
        completion_rates.append(reply["usage"]["completion_tokens"] / max(1e-3, seconds - prompt_seconds))
    return statistics.median(prompt_rates), statistics.median(completion_rates)


def run_batch(url: str, spec: Path, out: Path, concurrency: int) -> dict[str, Any]:
    """One seeded batch against ``url``: wall seconds, each conversation's texts (by id), tokens, cut replies."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rolecall.cli", "batch", str(spec), "--out", str(out), "--base-url", url,
         "--model", LOCAL_MODEL_NAME, "--concurrency", str(concurrency), "--quiet"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    records = sorted((json.loads(line) for line in (out / "conversations.jsonl").open()), key=lambda r: r["id"])
    messages = [message for record in records for message in record["messages"]]
    return {
        "seconds": seconds,
        "texts": [[message["content"] for message in record["messages"]] for record in records],
        "prompt": sum(record["usage"]["prompt_tokens"] for record in records),
        "completion": sum(record["usage"]["completion_tokens"] for record in records),
        "messages": len(messages),
        "cut": sum(message.get("finish_reason") == "length" for message in messages),
    }


def side(label: str, spec: Path, conversations: int, **server: Any) -> dict[str, Any]:
    with LocalServer(**server) as local, tempfile.TemporaryDirectory() as scratch:
        prompt_rate, completion_rate = token_rates(local.base_url)
        figures: dict[str, Any] = {"side": label, "prompt_tok_s": prompt_rate, "completion_tok_s": completion_rate}
        for concurrency in (1, 2):
            batch = run_batch(local.base_url, spec, Path(scratch) / f"c{concurrency}", concurrency)
            batch["conv_per_min"] = conversations / batch["seconds"] * 60
            batch["completion_per_s"] = batch["completion"] / batch["seconds"]
            figures[concurrency] = batch
    return figures


def sweep() -> None:
    """Prompt and completion rates for thread counts and prompt batch sizes (the cache plays no part)."""
    print("threads  batch   prompt tok/s   completion tok/s")
    for threads, batch in ((1, 512), (2, 512), (2, 2048), (2, 128), (2, 64)):
        with LocalServer(threads=threads, batch_tokens=batch, prompt_cache=False) as local:
            prompt_rate, completion_rate = token_rates(local.base_url)
        print(f"{threads:>7}  {batch:>5}   {prompt_rate:>12.0f}   {completion_rate:>16.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=6)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="also measure thread counts and batch sizes")
    parser.add_argument("--repeat", action="store_true", help="run the defaults twice: are seeded transcripts stable?")
    options = parser.parse_args()
    if options.sweep:
        sweep()
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "batch.yaml"
        spec.write_text(spec_text(options.conversations, options.turns))
        sides = [
            side("before: no cache, batch 512, full grammar", spec, options.conversations,
                 prompt_cache=False, batch_tokens=512, grammar_first=False),
            side("prompt cache and batch 64 only", spec, options.conversations, grammar_first=False),
            side("after: LocalServer defaults", spec, options.conversations),
        ]  # fmt: skip
        again = side("after, again", spec, options.conversations) if options.repeat else None
    print(f"\n{options.conversations} seeded conversations x {options.turns} turns, embedded SmolLM2-135M, 2 cores")
    columns = "   c  conv/min  batch tok/s  tokens (prompt/compl.)  cut"
    print(f"{'side':<44} {'prompt tok/s':>12} {'compl. tok/s':>12}{columns}")
    for figures in sides:
        for concurrency in (1, 2):
            batch = figures[concurrency]
            head = (f"{figures['side']:<44} {figures['prompt_tok_s']:>12.0f} {figures['completion_tok_s']:>12.1f}"
                    if concurrency == 1 else " " * 70)  # fmt: skip
            print(
                f"{head}   {concurrency}  {batch['conv_per_min']:>8.2f}  {batch['completion_per_s']:>11.1f}"
                f"  {batch['prompt']:>10} / {batch['completion']:<9}  {batch['cut']}/{batch['messages']}"
            )
    before = sides[0]
    for figures in sides[1:]:
        for concurrency in (1, 2):
            ratio = figures[concurrency]["conv_per_min"] / before[1]["conv_per_min"]
            same = figures[concurrency]["texts"] == before[concurrency]["texts"]
            print(f"{figures['side']}, concurrency {concurrency}: {ratio:.2f}x the conversations a minute of "
                  f"'before' at concurrency 1; transcripts as 'before' at the same concurrency: {same}")  # fmt: skip
    if again is not None:
        print(f"after, run again: transcripts identical at concurrency 1: {again[1]['texts'] == sides[2][1]['texts']}")


if __name__ == "__main__":
    main()
