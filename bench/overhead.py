"""rolecall's cost per turn against the same protocol without it, same server, one run.

Three sides hold CAMEL-style role-plays (same system prompts, kickoff, alternating views,
10 turns, no done token) against a zero-latency scripted server running in its own
process, each named by its code path:

* floor: ``httpx2.AsyncClient.post`` of the JSON body, ``response.json()`` (no SDK objects;
  httpx2 is the httpx fork the openai SDK ships, so the floor and the SDK share a transport);
* bare openai: ``AsyncOpenAI.chat.completions.create`` as people write it;
* rolecall: ``RolePlay(...).arun()`` with its defaults (guards on), through
  ``OpenAIChatModel`` (the SDK's generic ``post`` with ``ChatCompletion`` as the type);
* CAMEL: ``camel.societies.RolePlaying`` (``init_chat`` then ``step`` per turn) with its
  OpenAI-compatible model backend, run by CAMEL's own interpreter (``.venv-camel``, which
  ``make bench`` makes) in a subprocess, timed inside it; skipped when CAMEL is not installed.

Rounds alternate between the sides so machine noise hits all alike; figures are medians.
"Framework work per turn" is each side's time per turn minus the floor's. ``--profile``
prints where rolecall's own time goes (cProfile of its side, by cumulative time).

    python bench/overhead.py [--conversations 20] [--turns 10] [--rounds 7] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx2
import openai
from _bare import bare_conversation, floor_conversation

from rolecall import OpenAIChatModel, RolePlay
from rolecall.models.base import ChatMessage, ChatModel, Completion, Usage
from rolecall.testing import FunctionModel

TASK, ASSISTANT, USER = "Develop a trading bot for the stock market", "Python Programmer", "Stock Trader"


async def one_after_another(converse: Callable[[], Awaitable[None]], conversations: int) -> float:
    """Wall seconds of ``conversations`` calls of ``converse``, one after another."""
    started = time.perf_counter()
    for _ in range(conversations):
        await converse()
    return time.perf_counter() - started


async def roleplay(model: ChatModel, turns: int) -> None:
    transcript = await RolePlay(TASK, assistant_role=ASSISTANT, user_role=USER, model=model, max_turns=turns).arun()
    assert len(transcript.messages) == 2 * turns, transcript.termination


async def with_rolecall(base_url: str, conversations: int, turns: int) -> float:
    model = OpenAIChatModel("bench", base_url=base_url, max_attempts=1)
    try:
        return await one_after_another(lambda: roleplay(model, turns), conversations)
    finally:
        await model.aclose()


async def with_bare_client(base_url: str, conversations: int, turns: int) -> float:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0)
    try:
        return await one_after_another(lambda: bare_conversation(client, ASSISTANT, USER, TASK, turns), conversations)
    finally:
        await client.close()


async def with_floor(base_url: str, conversations: int, turns: int) -> float:
    client = httpx2.AsyncClient(base_url=f"{base_url}/", timeout=60)
    try:
        return await one_after_another(lambda: floor_conversation(client, ASSISTANT, USER, TASK, turns), conversations)
    finally:
        await client.aclose()


def scripted_reply(messages: Sequence[ChatMessage]) -> Completion:
    """The scripted server's answers, without the server: for rolecall's own work, with no HTTP at all."""
    turn = sum(1 for message in messages if message["role"] == "assistant") + 1
    if "who carries out your instructions" in messages[0]["content"]:
        text = f"Instruction: carry out step {turn} of the plan, in detail.\nInput: the notes from step {turn - 1}"
    else:
        text = f"Solution: here is step {turn}, done in full with the details asked for.\nNext request."
    return Completion(text=text, usage=Usage(prompt_tokens=100, completion_tokens=20), finish_reason="stop")


async def with_rolecall_alone(conversations: int, turns: int) -> float:
    """rolecall's own work per turn: the same role-plays answered by a function (no HTTP, no SDK)."""
    model = FunctionModel(scripted_reply, name="bench")
    return await one_after_another(lambda: roleplay(model, turns), conversations)


CAMEL_PYTHON = Path(__file__).parent.parent / ".venv-camel" / "bin" / "python"


def with_camel(base_url: str, conversations: int, turns: int) -> float:
    """CAMEL's ``RolePlaying``, timed inside its own interpreter (its start-up is not counted)."""
    result = subprocess.run(
        [str(CAMEL_PYTHON), str(Path(__file__).with_name("_camel_side.py")), base_url, str(conversations), str(turns)],
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    return float(result.stdout.strip().splitlines()[-1])


def profile(base_url: str, conversations: int, turns: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(with_rolecall(base_url, conversations, turns))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print where rolecall's side spends its time")
    args = parser.parse_args()
    camel = CAMEL_PYTHON.exists()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_scripted_server.py"))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(with_floor(base_url, 2, args.turns))  # warm every path up
        asyncio.run(with_bare_client(base_url, 2, args.turns))
        asyncio.run(with_rolecall(base_url, 2, args.turns))
        if args.profile:
            profile(base_url, args.conversations, args.turns)
        floor, bare, ours, theirs, alone = [], [], [], [], []
        for _ in range(args.rounds):
            alone.append(asyncio.run(with_rolecall_alone(args.conversations, args.turns)))
            floor.append(asyncio.run(with_floor(base_url, args.conversations, args.turns)))
            bare.append(asyncio.run(with_bare_client(base_url, args.conversations, args.turns)))
            ours.append(asyncio.run(with_rolecall(base_url, args.conversations, args.turns)))
            if camel:
                theirs.append(with_camel(base_url, args.conversations, args.turns))
    finally:
        server.kill()
    turns = args.conversations * args.turns
    floor_ms, bare_ms, ours_ms = (statistics.median(side) / turns * 1000 for side in (floor, bare, ours))
    print(f"turns per round: {turns} ({args.conversations} conversations x {args.turns} turns), rounds: {args.rounds}")
    print(f"floor (httpx post, response.json()):             {floor_ms:.2f} ms/turn")
    print(f"bare openai (chat.completions.create):           {bare_ms:.2f} ms/turn")
    print(f"rolecall (RolePlay.arun, defaults, guards on):   {ours_ms:.2f} ms/turn")
    if theirs:
        camel_ms = statistics.median(theirs) / turns * 1000
        print(f"CAMEL (RolePlaying.step, its own interpreter):   {camel_ms:.2f} ms/turn")
    alone_ms = statistics.median(alone) / turns * 1000
    print(f"rolecall's own work (the same, answered in process, no HTTP): {alone_ms:.3f} ms/turn")
    print(f"ratio rolecall / floor: {ours_ms / floor_ms:.3f}x   rolecall / bare openai: {ours_ms / bare_ms:.3f}x")
    print(
        f"framework work per turn (side minus floor): rolecall {ours_ms - floor_ms:.2f} ms, "
        f"bare openai {bare_ms - floor_ms:.2f} ms"
        + (f", CAMEL {camel_ms - floor_ms:.2f} ms" if theirs else " (CAMEL not installed: make bench installs it)")
    )


if __name__ == "__main__":
    main()
