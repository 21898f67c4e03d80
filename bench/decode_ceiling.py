"""The embedded model's decode ceiling on this machine, and how close the server comes to it.

Two code paths, the same work (300-token prompts, 128 tokens written, greedy, B sequences at once):

* **ceiling**: llama.cpp's own ``llama-batched-bench``, built with the server from the same sources
  (``rolecall.models.llama_build``): ``llama_decode`` on B sequences per call, no sampling, no
  HTTP. Run with and without the CPU's extra buffer types (``--no-repack``); the lines of its log
  that name a repacked or AMX buffer say which layouts this CPU and model use.
* **server**: ``LocalServer`` (the path ``rolecall run`` takes), B chat completions posted at once,
  ``ignore_eos`` so each writes 128 tokens, each prompt evaluated once beforehand and kept in its
  slot (without that, prompts beyond one batch of 2,048 tokens are evaluated while the first
  slots already write, and their writing time holds that work); its rate is the tokens written over the time the slots
  spent writing them (the server's own ``timings.predicted_ms``, averaged over the B slots, which
  write together: the counterpart of llama-batched-bench's generation time). Sampling, the
  grammar machinery and the slots' bookkeeping are inside it; HTTP and prompt evaluation are not.

Printed: aggregate decode tokens/s for each B, and the server's share of the ceiling.

    python bench/decode_ceiling.py [--sequences 1,2,4,8,16] [--prompt 300] [--generate 128]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2

from rolecall.models import llama_build
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer, model_file

WORDS = "flour butter sugar yeast oven crust loaf rye spelt dough proof bake knead salt water milk".split()


def ceiling(sequences: list[int], prompt: int, generate: int, *, extra_layouts: bool) -> tuple[dict[int, float], str]:
    """Decode tokens/s of all sequences at each count (llama-batched-bench), and the layouts its log names."""
    command = [
        str(llama_build.binary("llama-batched-bench")), "-m", str(model_file()),
        "-c", str(max(sequences) * (prompt + generate) + 64), "-b", "2048", "-ub", "512",
        "-npp", str(prompt), "-ntg", str(generate), "-npl", ",".join(map(str, sequences)),
        "-t", str(os.cpu_count() or 1),
        *([] if extra_layouts else ["--no-repack"]),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return {}, f"crashed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}"
    rates: dict[int, float] = {}
    for line in result.stdout.splitlines():  # |  PP |  TG |  B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | ...
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0].isdigit():
            rates[int(cells[2])] = float(cells[7])
    layouts = sorted(set(re.findall(r"(\w+) model buffer size", result.stderr + result.stdout)))
    return rates, ", ".join(layouts)


def server_rates(sequences: list[int], prompt: int, generate: int) -> dict[int, float]:
    """Decode tokens/s of all sequences at each count, through the embedded server's HTTP API."""
    rates: dict[int, float] = {}
    with LocalServer(slots=max(sequences)) as server, httpx2.Client(timeout=600) as client:

        def ask(index: int, tokens: int = generate) -> dict[str, Any]:
            words = " ".join(WORDS[(index * 7 + n) % len(WORDS)] for n in range(prompt - 12))  # about `prompt` tokens
            body = {
                "model": LOCAL_MODEL_NAME, "messages": [{"role": "user", "content": f"{index} {words}"}],
                "max_tokens": tokens, "temperature": 0, "ignore_eos": True,
            }  # fmt: skip
            response = client.post(f"{server.base_url}/chat/completions", json=body)
            response.raise_for_status()
            return dict(response.json())

        for count in sequences:
            indices = range(count * 100, count * 101)
            for index in indices:  # each prompt evaluated once and kept in its slot, so all B start writing together
                ask(index, 1)
            with ThreadPoolExecutor(count) as pool:
                replies = list(pool.map(ask, indices))
            written = sum(reply["usage"]["completion_tokens"] for reply in replies)
            writing = sum(reply["timings"]["predicted_ms"] for reply in replies) / len(replies) / 1000
            rates[count] = written / max(1e-6, writing)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", default="1,2,4,8,16")
    parser.add_argument("--prompt", type=int, default=300)
    parser.add_argument("--generate", type=int, default=128)
    options = parser.parse_args()
    sequences = [int(count) for count in options.sequences.split(",")]
    with_layouts, used = ceiling(sequences, options.prompt, options.generate, extra_layouts=True)
    without, _ = ceiling(sequences, options.prompt, options.generate, extra_layouts=False)
    served = server_rates(sequences, options.prompt, options.generate)
    print(f"decode tokens/s of all sequences ({options.prompt}-token prompts, {options.generate} written, greedy)")
    print(f"extra buffer types this CPU and model use: {used or 'none'}")
    print("sequences   ceiling, extra layouts   ceiling, none   server   server / best ceiling")
    for count in sequences:
        best = max(with_layouts.get(count, 0.0), without.get(count, 0.0))
        share = f"{served[count] / best:.0%}" if best else "-"
        print(
            f"{count:>9}   {with_layouts.get(count, float('nan')):>22.1f}   {without.get(count, float('nan')):>13.1f}"
            f"   {served[count]:>6.1f}   {share:>21}"
        )


if __name__ == "__main__":
    main()
