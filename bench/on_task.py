"""How often agents stay on task on the embedded model, by configuration: ``rolecall eval`` side by side.

Holds rolecall's evaluation suite (32 role-plays, 4 turns each, temperature 0.7, 160 tokens a
reply) on the embedded SmolLM2-135M under each configuration, and prints the scorecards as
the Markdown tables of docs/on_task.md: first drafts and final turns on task by a judge (the
default judge, the probe) and, beside it, by the lexical word counts, over the same 128 slots
per side in every configuration. Each configuration's transcripts and ``eval.json`` go to
``OUT/NAME``; a rerun resumes what is missing (and with everything held, only scores again).

    python bench/on_task.py [--configs off,guards,guards+json] [--out runs/on_task] [--limit N]
                            [--concurrency 2] [--judge probe] [--write docs/on_task_results.md]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rolecall import open_model
from rolecall.evaluation import Evaluation, Scorecard, load_suite
from rolecall.evaluation.report import markdown
from rolecall.judges import DEFAULT_JUDGE, Judge, LexicalJudge, open_judge
from rolecall.models.base import ChatModel

CONFIGS: dict[str, dict[str, Any]] = {
    # Every aid set explicitly: the embedded model's defaults must not blur the comparison.
    "off": {"guards": {"enabled": False}, "assist": {"stops": False, "json_turns": False}},
    "guards": {"assist": {"json_turns": False}},
    "guards+few_shot": {"assist": {"few_shot": True, "json_turns": False}},
    "guards+json": {"assist": {"json_turns": True}},
}


async def hold(
    model: ChatModel, judge: Judge, names: list[str], out: Path, *, limit: int | None, concurrency: int
) -> list[Scorecard]:
    """Each configuration's scorecard by ``judge``, followed by the same transcripts' scorecard by word counts."""
    suite = load_suite().first(limit)
    cards = []
    try:
        for name in names:
            evaluation = Evaluation(suite, CONFIGS[name], out / name, name)
            card = await evaluation.hold(model, judge, concurrency=concurrency)
            lexical = await evaluation.score(evaluation.saved(), card.minutes, LexicalJudge())
            lexical.label = f"{name} (lexical)"
            cards += [card, lexical]
            print(
                f"  {name}: {100 * card.share('first'):.0f}% first drafts on task by {judge.name}, "
                f"{100 * lexical.share('first'):.0f}% by word counts",
                flush=True,
            )
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
    parser.add_argument("--judge", default=DEFAULT_JUDGE, help="the judge that reads the turns")
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}")
    with open_model() as model, open_judge(args.judge, model=model) as judge:
        cards = asyncio.run(hold(model, judge, names, args.out, limit=args.limit, concurrency=args.concurrency))
    text = markdown(cards)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
