"""How often agents keep their role and format on the embedded model, guards off versus on.

Runs the same role-plays (roles, tasks and seeds) under each configuration on the
embedded SmolLM2-135M model and prints, in the manner of the CAMEL paper's figures, the
share of instructor turns and of executor turns that kept role and format, and how the
conversations ended. A turn counts as on task when the message that entered the
transcript passes the role-flip, format, empty and flake checks; a turn where a guard gave
up counts as off task. With guards on, "first try" is the share accepted without a re-ask.

    python bench/on_task.py [--runs 30] [--configs off,guards] [--max-turns 4] [--out DIR] [--write docs/on_task.md]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from dataclasses import dataclass, field
from pathlib import Path

from rolecall import Assist, GenerationParams, GuardSettings, RolePlay, Transcript, open_model
from rolecall.guards import Turn
from rolecall.guards.builtin import EmptyGuard, FlakeGuard, OffFormatGuard, RoleFlipGuard
from rolecall.models.base import ChatModel
from rolecall.transcripts import append

PAIRS = [
    ("Python Programmer", "Stock Trader", "Develop a trading bot for the stock market"),
    ("Accountant", "Baker", "Prepare a monthly budget for a small bakery"),
    ("Chef", "Nutritionist", "Design a week of healthy dinners"),
    ("Web Developer", "Musician", "Build a website to promote a new album"),
    ("Teacher", "Student", "Prepare for a history exam on the Roman Empire"),
    ("Travel Agent", "Photographer", "Plan a one-week photo trip to Iceland"),
    ("Data Analyst", "Shop Owner", "Find out which products sell best in winter"),
    ("Lawyer", "Startup Founder", "Draft the main points of a co-founder agreement"),
    ("Fitness Coach", "Office Worker", "Create a 4-week exercise plan"),
    ("Copywriter", "Florist", "Write the text for a flower shop's flyer"),
]

CONFIGS = {
    # Each aid set explicitly, and no plan: the embedded model's defaults must not blur the comparison.
    "off": {"guards": GuardSettings.off(), "assist": Assist(stops=False, json_turns=False), "plan": False},
    "guards": {"guards": GuardSettings(), "assist": Assist(json_turns=False), "plan": False},
    "guards+few_shot": {"guards": GuardSettings(), "assist": Assist(few_shot=True, json_turns=False), "plan": False},
    "guards+json": {"guards": GuardSettings(), "assist": Assist(json_turns=True), "plan": False},
}
CHECKS = (EmptyGuard(), RoleFlipGuard(), OffFormatGuard(), FlakeGuard())


def on_task(text: str, speaker: str, side: str) -> bool:
    turn = Turn(text, speaker, side, "<TASK_DONE>")  # type: ignore[arg-type]
    return all(check.check(turn) is None for check in CHECKS)


@dataclass
class Tally:
    turns: collections.Counter[str] = field(default_factory=collections.Counter)
    kept: collections.Counter[str] = field(default_factory=collections.Counter)
    first_try: collections.Counter[str] = field(default_factory=collections.Counter)
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    runs: int = 0

    def add(self, transcript: Transcript) -> None:
        self.runs += 1
        self.reasons[transcript.termination.reason if transcript.termination else "unfinished"] += 1
        sides = {agent.name: agent.kind for agent in transcript.agents}
        for message in transcript.messages:
            side = sides[message.speaker]
            self.turns[side] += 1
            self.kept[side] += on_task(message.content, message.speaker, side)
            self.first_try[side] += message.reasks == 0 and on_task(message.content, message.speaker, side)
        for event in transcript.events:
            extra = event.model_extra or {}
            if event.kind == "guard" and extra.get("action") == "stop":
                self.turns[sides[str(extra["speaker"])]] += 1  # the turn the guard gave up on

    def share(self, counter: collections.Counter[str], side: str) -> str:
        return f"{100 * counter[side] / self.turns[side]:.0f}%" if self.turns[side] else "n/a"


async def run_config(model: ChatModel, name: str, runs: int, max_turns: int, out: Path | None) -> Tally:
    tally = Tally()
    started = time.monotonic()
    for number in range(runs):
        assistant, user, task = PAIRS[number % len(PAIRS)]
        transcript = await RolePlay(
            task, assistant_role=assistant, user_role=user, model=model, max_turns=max_turns,
            seed=1000 + number, params=GenerationParams(max_tokens=160, temperature=0.7),
            **CONFIGS[name],  # type: ignore[arg-type]
        ).arun()  # fmt: skip
        tally.add(transcript)
        if out is not None:
            append(out / f"{name}.jsonl", transcript, fsync=False)
        reason = transcript.termination.reason if transcript.termination else "?"
        print(f"  {name} {number + 1}/{runs}: {reason}, {len(transcript.messages)} messages", flush=True)
    tally.seconds = time.monotonic() - started
    return tally


def table(results: dict[str, Tally], runs: int, max_turns: int) -> str:
    lines = [
        f"Embedded SmolLM2-135M-Instruct, {runs} role-plays per configuration (10 role pairs x 3 seeds), "
        f"up to {max_turns} turns, temperature 0.7, 160 tokens per reply.",
        "",
        "| configuration | instructor turns on task | executor turns on task | all turns on task "
        "| first try (instructor / executor) | minutes |",
        "|---|---|---|---|---|---|",
    ]
    for name, tally in results.items():
        total_kept = tally.kept["user"] + tally.kept["assistant"]
        total = tally.turns["user"] + tally.turns["assistant"]
        lines.append(
            f"| {name} | {tally.share(tally.kept, 'user')} ({tally.kept['user']}/{tally.turns['user']}) "
            f"| {tally.share(tally.kept, 'assistant')} ({tally.kept['assistant']}/{tally.turns['assistant']}) "
            f"| {100 * total_kept / total:.0f}% "
            f"| {tally.share(tally.first_try, 'user')} / {tally.share(tally.first_try, 'assistant')} "
            f"| {tally.seconds / 60:.1f} |"
        )
    lines += ["", "| configuration | " + " | ".join(sorted({r for t in results.values() for r in t.reasons})) + " |"]
    reasons = sorted({reason for tally in results.values() for reason in tally.reasons})
    lines.append("|---|" + "---|" * len(reasons))
    for name, tally in results.items():
        lines.append(f"| {name} | " + " | ".join(str(tally.reasons[reason]) for reason in reasons) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--configs", default="off,guards")
    parser.add_argument("--max-turns", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also save every transcript under this folder")
    parser.add_argument("--write", type=Path, help="write the results tables to this markdown file")
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}")

    async def run_all(model: ChatModel) -> dict[str, Tally]:
        try:
            return {name: await run_config(model, name, args.runs, args.max_turns, args.out) for name in names}
        finally:
            await model.aclose()

    with open_model() as model:
        results = asyncio.run(run_all(model))
    text = table(results, args.runs, args.max_turns)
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
