"""What each judge costs and how well it reads, on the gold set's test split, measured in one run.

Sides, each named by its code path:

- ``lexical``: ``rolecall.judges.lexical.LexicalJudge`` (word counts, no model);
- ``probe``: ``rolecall.judges.probe.ProbeJudge`` (the embedded model's states and likelihoods
  read by the fitted classifier), its model server started before the clock runs;
- the floor: the same server asked only for the hidden states of each turn in its context
  (``HiddenStates.states``, one request per turn): what reading the turns costs at the least,
  before any feature or classifier.

Prints turns per second of each and the ratio to the floor, then each judge's accuracy,
precision, recall and kappa on the test split, and the source-only baseline.

    python bench/judges.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from rolecall.judges import LexicalJudge, ProbeJudge
from rolecall.judges import gold as gold_set
from rolecall.judges.base import in_context, is_done, judge_dialogue
from rolecall.judges.calibration import Agreement
from rolecall.judges.features import context_prompt
from rolecall.judges.training import source_baseline


def agreement(verdicts: list[list[bool]], plays: list[gold_set.GoldPlay]) -> Agreement:
    pairs = [
        (turn.on_task, called)
        for play, row in zip(plays, verdicts, strict=True)
        for turn, called in zip(play.turns, row, strict=True)
        if turn.on_task is not None
    ]
    return Agreement.of([bool(label) for label, _ in pairs], [called for _, called in pairs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="times each side reads the split (the best is kept)")
    args = parser.parse_args()
    plays = gold_set.read()
    test = gold_set.split(plays, "test")
    dialogues = [play.dialogue() for play in test]
    turns = [turn for d in dialogues for turn in in_context(d) if not is_done(turn, d.done_token)]
    print(f"gold {gold_set.VERSION} test split: {len(test)} role-plays, {len(turns)} turns a judge reads")
    results: dict[str, tuple[float, Agreement | None]] = {}
    with ProbeJudge() as probe:
        asyncio.run(probe.verdicts(turns[:2]))  # starts the model server before the clock
        states = probe.reader()  # the floor asks the same server

        async def floor() -> None:
            await asyncio.gather(*(states.states(f"{context_prompt(turn)} {turn.field}") for turn in turns))

        for name, run in (
            ("floor (states only)", lambda: asyncio.run(floor())),
            ("lexical", lambda: asyncio.run(judge_dialogue(LexicalJudge(), dialogues))),
            ("probe", lambda: asyncio.run(judge_dialogue(probe, dialogues))),
        ):
            best, found = float("inf"), None
            for _ in range(args.repeat):
                started = time.perf_counter()
                found = run()
                best = min(best, time.perf_counter() - started)
            verdicts = [[v.on_task for v in row] for row in found] if isinstance(found, list) else None
            results[name] = (best, agreement(verdicts, test) if verdicts else None)
    floor_seconds = results["floor (states only)"][0]
    print(f"{'side':22s} {'turns/s':>9s} {'x floor':>8s} {'acc':>6s} {'prec':>6s} {'rec':>6s} {'kappa':>6s}")
    for name, (seconds, found) in results.items():
        figures = (
            f"{found.accuracy:6.3f} {found.precision:6.3f} {found.recall:6.3f} {found.kappa:6.3f}" if found else ""
        )
        print(f"{name:22s} {len(turns) / seconds:9.1f} {seconds / floor_seconds:8.2f} {figures}")
    base = source_baseline(gold_set.split(plays, "train"), test)
    print(f"{'source only':22s} {'':9s} {'':8s} {base.accuracy:6.3f} {base.precision:6.3f} {base.recall:6.3f} "
          f"{base.kappa:6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
