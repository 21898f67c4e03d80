"""The batch's live progress bar, kept in step with the runner's counts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rolecall.batch.runner import Progress as BatchProgress


@contextmanager
def batch_progress(console: Console, *, quiet: bool) -> Iterator[Callable[[BatchProgress], None]]:
    """A callback that keeps a rich progress bar in step with the batch."""
    if quiet:
        yield lambda progress: None
        return
    bar = Progress(
        TextColumn("[bold]batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = bar.add_task("batch", total=None, detail="")

    def update(progress: BatchProgress) -> None:
        elapsed = max(1e-9, time.monotonic() - progress.started)
        detail = (
            f"done {progress.done} · failed {progress.failed} · in flight {progress.in_flight} · "
            f"{progress.done / elapsed:.2f} conv/s · {progress.tokens / elapsed:,.0f} tok/s · "
            + ("cost unknown" if progress.cost_usd is None else f"${progress.cost_usd:.4f}")
        )
        bar.update(task, total=progress.planned, completed=progress.finished, detail=detail)

    with bar:
        yield update
