"""CAMEL's ``RolePlaying`` on the bench's scripted server: run by bench/overhead.py with CAMEL's interpreter.

CAMEL lives in its own virtual environment (``make bench`` makes ``.venv-camel``), so its
dependencies never mix with rolecall's. Prints the wall seconds of CONVERSATIONS role-plays of
TURNS turns each (``init_chat``, then ``step`` per turn: instructor and executor each answer once).

    .venv-camel/bin/python bench/_camel_side.py BASE_URL CONVERSATIONS TURNS
"""

from __future__ import annotations

import sys
import time

from camel.models import ModelFactory
from camel.societies import RolePlaying
from camel.types import ModelPlatformType
from camel.utils import BaseTokenCounter

TASK, ASSISTANT, USER = "Develop a trading bot for the stock market", "Python Programmer", "Stock Trader"


class CharacterCounter(BaseTokenCounter):
    """Four characters a token: CAMEL's default counter downloads tiktoken's tables, which fails offline."""

    def count_tokens_from_messages(self, messages: list[dict[str, object]]) -> int:  # type: ignore[override]
        return sum(len(str(message.get("content") or "")) // 4 + 4 for message in messages)

    def encode(self, text: str) -> list[int]:
        return list(range(len(text) // 4))

    def decode(self, token_ids: list[int]) -> str:
        return " " * len(token_ids) * 4


def main() -> None:
    base_url, conversations, turns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    model = ModelFactory.create(
        model_platform=ModelPlatformType.OPENAI_COMPATIBLE_MODEL, model_type="bench", url=base_url, api_key="none",
        model_config_dict={"max_tokens": 256}, token_counter=CharacterCounter(), max_retries=0,
    )  # fmt: skip
    started = time.perf_counter()
    for _ in range(conversations):
        session = RolePlaying(
            assistant_role_name=ASSISTANT, user_role_name=USER, task_prompt=TASK, with_task_specify=False,
            assistant_agent_kwargs={"model": model}, user_agent_kwargs={"model": model},
        )  # fmt: skip
        message = session.init_chat()
        for _ in range(turns):
            assistant, _ = session.step(message)
            message = assistant.msg
    print(f"{time.perf_counter() - started:.6f}")


if __name__ == "__main__":
    main()
