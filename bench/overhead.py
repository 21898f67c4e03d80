"""rolecall's cost per turn against the same protocol without it, same server, one run.

Three sides hold CAMEL-style role-plays (same system prompts, kickoff, alternating views,
10 turns, no done token) against a zero-latency scripted server running in its own
process, each named by its code path:

* floor: ``httpx.AsyncClient.post`` of the JSON body, ``response.json()`` (no SDK objects);
* bare openai: ``AsyncOpenAI.chat.completions.create`` as people write it;
* rolecall: ``RolePlay(...).arun()`` with its defaults (guards on), through
  ``OpenAIChatModel`` (the SDK's generic ``post`` with ``ChatCompletion`` as the type).

Rounds alternate between the sides so machine noise hits all alike; figures are medians.

    python bench/overhead.py [--conversations 20] [--turns 10] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
from _bare import bare_conversation, floor_conversation

from rolecall import OpenAIChatModel, RolePlay

TASK, ASSISTANT, USER = "Develop a trading bot for the stock market", "Python Programmer", "Stock Trader"


async def with_rolecall(base_url: str, conversations: int, turns: int) -> float:
    model = OpenAIChatModel("bench", base_url=base_url, max_attempts=1)
    started = time.perf_counter()
    for _ in range(conversations):
        transcript = await RolePlay(TASK, assistant_role=ASSISTANT, user_role=USER, model=model, max_turns=turns).arun()
        assert len(transcript.messages) == 2 * turns, transcript.termination
    elapsed = time.perf_counter() - started
    await model.aclose()
    return elapsed


async def with_bare_client(base_url: str, conversations: int, turns: int) -> float:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0)
    started = time.perf_counter()
    for _ in range(conversations):
        await bare_conversation(client, ASSISTANT, USER, TASK, turns)
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def with_floor(base_url: str, conversations: int, turns: int) -> float:
    client = httpx.AsyncClient(base_url=f"{base_url}/", timeout=60)
    started = time.perf_counter()
    for _ in range(conversations):
        await floor_conversation(client, ASSISTANT, USER, TASK, turns)
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_scripted_server.py"))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(with_floor(base_url, 2, args.turns))  # warm every path up
        asyncio.run(with_bare_client(base_url, 2, args.turns))
        asyncio.run(with_rolecall(base_url, 2, args.turns))
        floor, bare, ours = [], [], []
        for _ in range(args.rounds):
            floor.append(asyncio.run(with_floor(base_url, args.conversations, args.turns)))
            bare.append(asyncio.run(with_bare_client(base_url, args.conversations, args.turns)))
            ours.append(asyncio.run(with_rolecall(base_url, args.conversations, args.turns)))
    finally:
        server.kill()
    turns = args.conversations * args.turns
    floor_ms, bare_ms, ours_ms = (statistics.median(side) / turns * 1000 for side in (floor, bare, ours))
    print(f"turns per round: {turns} ({args.conversations} conversations x {args.turns} turns), rounds: {args.rounds}")
    print(f"floor (httpx post, response.json()):             {floor_ms:.2f} ms/turn")
    print(f"bare openai (chat.completions.create):           {bare_ms:.2f} ms/turn")
    print(f"rolecall (RolePlay.arun, defaults, guards on):   {ours_ms:.2f} ms/turn")
    print(f"ratio rolecall / floor: {ours_ms / floor_ms:.3f}x   rolecall / bare openai: {ours_ms / bare_ms:.3f}x")


if __name__ == "__main__":
    main()
