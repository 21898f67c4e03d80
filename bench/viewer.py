"""How fast ``rolecall view`` opens a batch folder: from the command to its first page.

Makes a batch folder of N conversations (default 1,000) with ``rolecall batch`` against the
scripted server, then, for three fresh starts of ``rolecall view FOLDER`` as a subprocess:
the wall time from launching the command to the first page's HTTP 200 (interpreter start,
catalogue of every line, first render), then the time of the list page, a filtered page, a
free-text search and a conversation page on the running viewer (median of 20 requests each).
The floor is a static file of the same size served by Python's ``http.server``.

    python bench/viewer.py [--conversations 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from batch import Server, batch_command, spec_text

from rolecall.models.local import free_port


def first_page(command: list[str], url: str, timeout: float = 60.0) -> tuple[float, subprocess.Popen[bytes]]:
    """Seconds from launching ``command`` until ``url`` answers 200, and the running process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
                if response.status == 200:
                    return time.perf_counter() - started, process
        except OSError:
            time.sleep(0.005)
    process.kill()
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def median_ms(url: str, times: int = 20) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="make the batch folder here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="rolecall-view-bench-"))
    spec, out = root / "batch.yaml", root / "batch"
    if not any(out.glob("**/*.jsonl")):
        root.mkdir(parents=True, exist_ok=True)
        spec.write_text(spec_text(10, 10, 10, args.conversations // 1000 or 1, 6) if args.conversations >= 1000
                        else spec_text(args.conversations, 1, 1, 1, 6))  # fmt: skip
        with Server(0.0) as server:
            subprocess.run(batch_command(spec, out, server.url, 16), check=True, stdout=subprocess.DEVNULL)
    files = sorted(out.glob("**/*.jsonl"))
    size = sum(file.stat().st_size for file in files)
    lines = sum(file.read_bytes().count(b"\n") for file in files)
    print(f"batch folder: {lines} lines in {len(files)} files, {size / 1e6:.1f} MB")

    port = free_port()
    command = [sys.executable, "-m", "rolecall.cli", "view", str(out), "--port", str(port), "--judge", "lexical"]
    starts = []
    for _ in range(3):
        seconds, process = first_page(command, f"http://127.0.0.1:{port}/")
        starts.append(seconds)
        if len(starts) < 3:
            process.kill()
            process.wait()
    base = f"http://127.0.0.1:{port}"
    page = urllib.request.urlopen(f"{base}/", timeout=10).read().decode()
    first_id = page.split("href='/c/")[1].split("'")[0]
    figures = {
        "list page (50 rows)": median_ms(f"{base}/"),
        "filtered (reason + turns)": median_ms(f"{base}/?reason=max_turns&min_turns=6"),
        "free-text search": median_ms(f"{base}/?q=step+3"),
        "conversation page": median_ms(f"{base}/c/{first_id}"),
        "stats page": median_ms(f"{base}/stats"),
    }
    process.kill()
    process.wait()

    static = root / "static"
    static.mkdir(exist_ok=True)
    (static / "page.html").write_text(page)
    floor_port = free_port()
    floor_command = [sys.executable, "-m", "http.server", str(floor_port), "--bind", "127.0.0.1", "-d", str(static)]
    floor_start, floor_process = first_page(floor_command, f"http://127.0.0.1:{floor_port}/page.html")
    floor_ms = median_ms(f"http://127.0.0.1:{floor_port}/page.html")
    floor_process.kill()
    floor_process.wait()

    print("rolecall view (subprocess: `rolecall view FOLDER`, catalogue of every line, then the first page)")
    print(
        f"  command to first page: {', '.join(f'{s:.2f} s' for s in starts)} (median {statistics.median(starts):.2f} s)"
    )
    for name, ms in figures.items():
        print(f"  {name}: {ms:.1f} ms")
    print("floor (python -m http.server serving the first page as a static file)")
    print(f"  command to first page: {floor_start:.2f} s; page: {floor_ms:.1f} ms")


if __name__ == "__main__":
    main()
