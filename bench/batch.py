"""Batch proofs: overhead at concurrency, memory with 1,000 in flight, faults, kill -9, scale to 10,000.

Each part runs against the scripted server (bench/_scripted_server.py) in its own process;
rolecall runs with its defaults (guards on) everywhere:

1. overhead: 128 conversations x 10 turns at concurrency 64, 100 ms per call; wall time of
   ``Batch.run`` (rolecall's engine, in process) against the same protocol driven by the floor
   (``httpx2.AsyncClient.post`` + ``response.json()``; httpx2 is the httpx fork the SDK ships: httpx
   0.28's connection pool stalls with 64 connections in flight, 4.2 s against 0.86 s for 64
   conversations of 6 calls) and by the bare ``openai`` client
   (``chat.completions.create``), each with 64 conversations in flight (an asyncio semaphore).
   CAMEL has no batch engine; its ``RolePlaying`` is compared turn by turn in bench/overhead.py.
2. memory: 1,000 conversations in flight at once (3 turns, 100 ms per call); peak RSS of
   the batch process.
3. faults: 10% of calls fail (500, 429 with Retry-After, dropped connection); every
   conversation must end ok or failed, none lost, none doubled.
4. kill -9: the batch is killed at random moments and rerun, repeatedly; the final ids
   must be exactly the planned set, every line must parse, no id may appear twice.
5. scale: ``rolecall batch`` of 1,000 and of 10,000 conversations (2 turns, no latency,
   concurrency 64) with ``--engine local`` and with ``--engine ray`` (a local Ray, one worker
   per core: two here); wall time and the peak summed RSS of the whole process tree
   (Ray's raylet and workers included), and how both grow from 1,000 to 10,000.

    python bench/batch.py [--parts overhead,memory,faults,kill,scale]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx2
import openai
from _bare import bare_conversation, floor_conversation

from rolecall.batch import Batch, load_batch_spec
from rolecall.models import OpenAIChatModel
from rolecall.transcripts import Reader

HERE = Path(__file__).parent


def spec_text(assistants: int, users: int, tasks: int, samples: int, turns: int) -> str:
    return (
        f"assistant_roles: {[f'Assistant {n}' for n in range(assistants)]}\n"
        f"user_roles: {[f'User {n}' for n in range(users)]}\n"
        f"tasks: {[f'Task number {n}' for n in range(tasks)]}\n"
        f"samples: {samples}\nmax_turns: {turns}\nseed: 1\n"
    )


class Server:
    def __init__(self, latency: float, fault_rate: float = 0.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_scripted_server.py"), str(latency), str(fault_rate)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


def batch_command(spec: Path, out: Path, url: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "rolecall.cli", "batch", str(spec), "--out", str(out), "--base-url", url,
            "--concurrency", str(concurrency), "--quiet"]  # fmt: skip


def timed_batch(spec: Path, out: Path, url: str, concurrency: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one batch process."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(batch_command(spec, out, url, concurrency), check=True, stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - started, max(peak, before) / 1024


#: The roles and task of the baselines' conversations (those of the batch spec's first job).
ROLE_PLAY = ("Assistant 0", "User 0", "Task number 0")


async def in_flight(converse: Callable[[], Awaitable[None]], conversations: int, concurrency: int) -> float:
    """Wall seconds of ``conversations`` calls of ``converse``, at most ``concurrency`` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await converse()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(conversations)))
    return time.perf_counter() - started


async def bare(url: str, conversations: int, turns: int, concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0)
    try:
        converse = lambda: bare_conversation(client, *ROLE_PLAY, turns)  # noqa: E731
        return await in_flight(converse, conversations, concurrency)
    finally:
        await client.close()


async def floor(url: str, conversations: int, turns: int, concurrency: int) -> float:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx2.AsyncClient(base_url=f"{url}/", timeout=60, limits=limits)
    try:
        converse = lambda: floor_conversation(client, *ROLE_PLAY, turns)  # noqa: E731
        return await in_flight(converse, conversations, concurrency)
    finally:
        await client.aclose()


def check_output(out: Path, planned: int) -> str:
    reader = Reader()
    rows = list(reader.read([out / "conversations.jsonl"]))
    ids = [row.id for row in rows]
    statuses = {status: sum(row.status == status for row in rows) for status in ("ok", "failed")}
    verdict = "PASS" if len(ids) == len(set(ids)) == planned and not reader.bad else "FAIL"
    doubled = len(ids) - len(set(ids))
    return f"{verdict}: {len(set(ids))}/{planned} ids, {doubled} doubled, {len(reader.bad)} bad lines, {statuses}"


async def in_process(spec_path: Path, out: Path, url: str, concurrency: int) -> float:
    """Wall seconds of ``Batch.run`` in this process (what ``rolecall batch`` does after start-up)."""
    spec = load_batch_spec(spec_path)
    model = OpenAIChatModel("m", base_url=url, max_attempts=1)
    started = time.perf_counter()
    progress = await Batch(spec, out, model, concurrency=concurrency).run()
    elapsed = time.perf_counter() - started
    await model.aclose()
    assert progress.done == progress.planned, progress
    return elapsed


def part_overhead(work: Path, rounds: int = 3) -> None:
    spec = work / "overhead.yaml"
    spec.write_text(spec_text(4, 4, 4, 2, 10))  # 128 conversations
    floor_runs, bare_runs, ours_runs = [], [], []
    with Server(0.1) as server:
        for number in range(rounds):  # alternate, so machine noise falls on all sides
            floor_runs.append(asyncio.run(floor(server.url, 128, 10, 64)))
            bare_runs.append(asyncio.run(bare(server.url, 128, 10, 64)))
            ours_runs.append(asyncio.run(in_process(spec, work / f"overhead-{number}", server.url, 64)))
        cli, _ = timed_batch(spec, work / "overhead-cli", server.url, 64)
    floor_seconds, bare_seconds = statistics.median(floor_runs), statistics.median(bare_runs)
    ours = statistics.median(ours_runs)
    print(f"[overhead] 128 conversations x 10 turns, concurrency 64, 100 ms per call, median of {rounds}")
    print(f"  floor (httpx post):                     {floor_seconds:.2f} s")
    print(f"  bare openai (chat.completions.create):  {bare_seconds:.2f} s")
    print(f"  rolecall (Batch.run, guards on):        {ours:.2f} s")
    ratios = f"rolecall / floor {ours / floor_seconds:.3f}x (target 1.1x), rolecall / bare {ours / bare_seconds:.3f}x"
    print(f"  ratio {ratios}")
    print(f"  the whole `rolecall batch` command, start-up and manifest included: {cli:.2f} s")


def part_memory(work: Path) -> None:
    spec = work / "memory.yaml"
    spec.write_text(spec_text(10, 10, 5, 2, 3))  # 1,000 conversations
    with Server(0.1) as server:
        seconds, peak = timed_batch(spec, work / "memory-out", server.url, 1000)
    print(f"[memory] 1,000 conversations in flight at once: {seconds:.1f} s, peak RSS {peak:.0f} MB (target < 500 MB)")
    print(f"  {check_output(work / 'memory-out', 1000)}")


def part_faults(work: Path) -> None:
    spec = work / "faults.yaml"
    spec.write_text(spec_text(4, 4, 4, 2, 5))  # 128 conversations
    with Server(0.01, fault_rate=0.1) as server:
        seconds, _ = timed_batch(spec, work / "faults-out", server.url, 32)
    rows = list(Reader().read([work / "faults-out" / "conversations.jsonl"]))
    retries = sum(message.retries for row in rows for message in row.messages)
    print(f"[faults] 10% of calls fail: {seconds:.1f} s, {retries} retried calls")
    print(f"  {check_output(work / 'faults-out', 128)}")


def part_kill(work: Path, rounds: int = 6) -> None:
    spec = work / "kill.yaml"
    spec.write_text(spec_text(4, 4, 4, 2, 4))  # 128 conversations
    out = work / "kill-out"
    rng = random.Random(2)
    with Server(0.1) as server:
        for _ in range(rounds):
            run = subprocess.Popen(batch_command(spec, out, server.url, 8), stdout=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.0, 3.0))
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            reader = Reader()
            partial = list(reader.read([out / "conversations.jsonl"])) if (out / "conversations.jsonl").exists() else []
            print(f"  killed: {len(partial)} finished so far, {len(reader.bad)} torn line(s) pending repair")
        subprocess.run(batch_command(spec, out, server.url, 8), check=True, stdout=subprocess.DEVNULL)
    print(f"[kill -9] {rounds} kills at random moments, then one full run")
    print(f"  {check_output(out, 128)}")


def tree_rss_mb(root: int) -> float:
    """The summed resident memory of ``root`` and all its descendants, in MB (from /proc)."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            sizes[int(entry.name)] = int(fields[21]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            continue
    family, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(sizes.get(pid, 0) for pid in family) / 2**20


def watched_batch(command: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak summed RSS (MB) of a batch command's process tree, sampled every 0.2 s."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.2)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited {process.returncode}")
    return time.perf_counter() - started, peak


def part_scale(work: Path) -> None:
    sizes = {1000: spec_text(10, 10, 10, 1, 2), 10000: spec_text(10, 10, 10, 10, 2)}
    figures: dict[tuple[str, int], tuple[float, float]] = {}
    with Server(0.0) as server:
        for engine in ("local", "ray"):
            for count, text in sizes.items():
                spec = work / f"scale-{count}.yaml"
                spec.write_text(text)
                out = work / f"scale-{engine}-{count}"
                command = [*batch_command(spec, out, server.url, 64), "--engine", engine]
                figures[engine, count] = watched_batch(command)
                print(f"  {engine:>5} {count:>6,} conversations: {figures[engine, count][0]:7.1f} s, "
                      f"peak {figures[engine, count][1]:6.0f} MB   {check_output(out, count)}", flush=True)  # fmt: skip
    print("[scale] 2 turns each, no latency, concurrency 64; growth from 1,000 to 10,000 conversations (10x):")
    for engine in ("local", "ray"):
        (small_s, small_mb), (large_s, large_mb) = figures[engine, 1000], figures[engine, 10000]
        print(f"  {engine:>5}: time {large_s / small_s:.1f}x, peak memory {large_mb / small_mb:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="overhead,memory,faults,kill,scale")
    args = parser.parse_args()
    parts = {
        "overhead": part_overhead, "memory": part_memory, "faults": part_faults, "kill": part_kill,
        "scale": part_scale,
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rolecall-batch-") as folder:
        for name in args.parts.split(","):
            parts[name](Path(folder))


if __name__ == "__main__":
    main()
