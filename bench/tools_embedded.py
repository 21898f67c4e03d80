"""How often the embedded model makes a well-formed, executed tool call: ``rolecall run examples/tools.yaml``.

Runs the example spec with seeds 1..N on the embedded SmolLM2 (or the endpoint configured by
OPENAI_BASE_URL / ROLECALL_MODEL) and counts, per run, the calls that validated against
their tool's schema and ran, those that ran without error, and the re-asks the
``bad_tool_call`` guard made. Usage: ``python bench/tools_embedded.py [N] [--max-turns T]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from rolecall.models.endpoint import open_model, resolve_endpoint
from rolecall.spec import load_spec

SPEC = Path(__file__).parent.parent / "examples" / "tools.yaml"


async def main(runs: int, max_turns: int) -> None:
    spec = load_spec(SPEC)
    endpoint = resolve_endpoint(spec_model=spec.model, spec_base_url=spec.base_url)
    per_tool: Counter[str] = Counter()
    with_call = with_good_call = 0
    started = time.perf_counter()
    with open_model(endpoint) as model:
        for seed in range(1, runs + 1):
            run_spec = spec.model_copy(update={"seed": seed, "max_turns": max_turns})
            transcript = await run_spec.build(model).arun()
            results = [m for m in transcript.messages if m.role == "tool"]
            reasks = sum(1 for e in transcript.events if (e.model_extra or {}).get("guard") == "bad_tool_call")
            good = [m for m in results if m.error is None]
            per_tool.update(m.name or "?" for m in results)
            with_call += bool(results)
            with_good_call += bool(good)
            ended = transcript.termination.reason if transcript.termination else "?"
            print(
                f"seed {seed:>2}: {len(results)} calls executed, {len(good)} without error, "
                f"{reasks} bad_tool_call re-asks, ended {ended}",
                flush=True,
            )
    minutes = (time.perf_counter() - started) / 60
    print(f"\nruns with at least one well-formed, executed call: {with_call}/{runs}")
    print(f"runs with at least one call that ran without error: {with_good_call}/{runs}")
    print(f"calls by tool: {dict(per_tool)} · {minutes:.1f} minutes on {model.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=20)
    parser.add_argument("--max-turns", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.runs, options.max_turns))
