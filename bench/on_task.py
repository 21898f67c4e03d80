"""How often agents stay on task on the embedded model, by configuration: ``rolecall eval`` side by side.

Holds rolecall's evaluation suite (32 role-plays, 4 turns each, temperature 0.7, 160 tokens a
reply) on the embedded SmolLM2-135M under each configuration, and prints the scorecards as
the Markdown tables of docs/on_task.md: first drafts and final turns on task by the content
checks, over the same 128 slots per side in every configuration. Each configuration's
transcripts and ``eval.json`` go to ``OUT/NAME``; a rerun resumes what is missing.

    python bench/on_task.py [--configs off,guards,guards+json] [--out runs/on_task] [--limit N]
                            [--concurrency 2] [--write docs/on_task_results.md]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rolecall import open_model
from rolecall.evaluation import Evaluation, Scorecard, load_suite
from rolecall.evaluation.report import markdown
from rolecall.models.base import ChatModel

CONFIGS: dict[str, dict[str, Any]] = {
    # Every aid set explicitly: the embedded model's defaults must not blur the comparison.
    "off": {"guards": {"enabled": False}, "assist": {"stops": False, "json_turns": False}},
    "guards": {"assist": {"json_turns": False}},
    "guards+few_shot": {"assist": {"few_shot": True, "json_turns": False}},
    "guards+json": {"assist": {"json_turns": True}},
}


async def hold(model: ChatModel, names: list[str], out: Path, limit: int | None, concurrency: int) -> list[Scorecard]:
    suite = load_suite().first(limit)
    cards = []
    try:
        for name in names:
            evaluation = Evaluation(suite, CONFIGS[name], out / name, name)
            cards.append(await evaluation.hold(model, concurrency=concurrency))
            print(f"  {name}: {100 * cards[-1].share('first'):.0f}% first drafts on task", flush=True)
    finally:
        await model.aclose()
    return cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="off,guards,guards+json")
    parser.add_argument("--out", type=Path, default=Path("runs/on_task"))
    parser.add_argument("--limit", type=int, help="only the suite's first N role-plays")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--write", type=Path, help="write the tables to this Markdown file")
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}")
    with open_model() as model:
        cards = asyncio.run(hold(model, names, args.out, args.limit, args.concurrency))
    text = markdown(cards)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
