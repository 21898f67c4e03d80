"""A zero-latency scripted OpenAI-compatible server in its own process, for benchmarks.

Prints its base URL on the first line of stdout, then serves until killed. The instructor
never says the done token, so every conversation runs to its turn limit.
"""

from __future__ import annotations

import sys
import time

from rolecall.testing import FakeOpenAIServer


def reply(request: dict[str, object]) -> str:
    messages = request["messages"]
    assert isinstance(messages, list)
    turn = sum(1 for message in messages if message["role"] == "assistant") + 1
    if "who carries out your instructions" in str(messages[0]["content"]):
        return f"Instruction: carry out step {turn} of the plan, in detail.\nInput: the notes from step {turn - 1}"
    return f"Solution: here is step {turn}, done in full with the details asked for.\nNext request."


if __name__ == "__main__":
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    server = FakeOpenAIServer(reply, latency=latency).start()
    server.keep_bodies = False
    print(server.base_url, flush=True)
    while True:
        time.sleep(3600)
