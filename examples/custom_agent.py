"""Subclassing an agent: an executor that does arithmetic itself and asks its model otherwise.

Run it (on the embedded model, or any endpoint set with OPENAI_BASE_URL):

    python examples/custom_agent.py

``respond`` is the one method to override: it receives the messages the agent sees and
the turn's sampling parameters, and passes both on when it asks the model. ``postprocess``
is a small hook that here keeps every reply in the protocol's format, whatever the model
wrote.
"""

from __future__ import annotations

import re

from rich.console import Console

from rolecall import ChatMessage, Completion, Executor, GenerationParams, RolePlay, open_model
from rolecall.terminal.render import render_transcript
from rolecall.transcripts import DEFAULT_FILE, append

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class Bookkeeper(Executor):
    """Adds up the numbers in any instruction that asks for a total; the model does the rest."""

    async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        instruction = messages[-1]["content"]
        numbers = NUMBER.findall(instruction)
        if "total" in instruction.lower() and numbers:
            total = sum(float(number) for number in numbers)
            return Completion(text=f"Solution: the total is {total:g}.", model="bookkeeper-rules")
        return await super().respond(messages, params)

    def postprocess(self, text: str) -> str:
        text = super().postprocess(text)
        if not text.startswith("Solution:"):
            text = f"Solution: {text}"
        if not text.endswith("Next request."):
            text = f"{text}\nNext request."
        return text


def main() -> None:
    with open_model() as model:
        transcript = RolePlay(
            "Work out the total cost of a bakery's weekly ingredients: flour 42.5, butter 31, eggs 18",
            assistant_role="Bookkeeper",
            user_role="Baker",
            model=model,
            executor_cls=Bookkeeper,
            max_turns=3,
            seed=1,
        ).run()
    append(DEFAULT_FILE, transcript)
    Console().print(render_transcript(transcript))
    print(f"saved to {DEFAULT_FILE}")


if __name__ == "__main__":
    main()
