"""A zero-latency scripted OpenAI-compatible server in its own process, for benchmarks.

Prints its base URL on the first line of stdout, then serves until killed. The instructor
never says the done token, so every conversation runs to its turn limit.

    python bench/_scripted_server.py [LATENCY_SECONDS] [FAULT_RATE]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from rolecall.testing import FakeOpenAIServer, FakeResponse


def reply(request: dict[str, object]) -> str:
    messages = request["messages"]
    assert isinstance(messages, list)
    turn = sum(1 for message in messages if message["role"] == "assistant") + 1
    if "who carries out your instructions" in str(messages[0]["content"]):
        return f"Instruction: carry out step {turn} of the plan, in detail.\nInput: the notes from step {turn - 1}"
    return f"Solution: here is step {turn}, done in full with the details asked for.\nNext request."


def faulty(rate: float) -> Callable[[dict[str, object]], str | FakeResponse]:
    """``reply``, except that a share ``rate`` of calls fail: 500, 429 with Retry-After, or a dropped connection."""
    rng = random.Random(5)

    def answer(request: dict[str, object]) -> str | FakeResponse:
        draw = rng.random()
        if draw < rate / 3:
            return FakeResponse(status=500)
        if draw < 2 * rate / 3:
            return FakeResponse(status=429, headers={"Retry-After": "0.2"})
        if draw < rate:
            return FakeResponse(drop=True)
        return reply(request)

    return answer


if __name__ == "__main__":
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    fault_rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = FakeOpenAIServer(faulty(fault_rate) if fault_rate else reply, latency=latency).start()
    server.keep_bodies = False
    print(server.base_url, flush=True)
    while True:
        time.sleep(3600)
