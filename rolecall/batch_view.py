"""The batch's edges: wrapping the model for a spec's limits, and the live progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rolecall.batch import BatchSpec
from rolecall.batch import Progress as BatchProgress
from rolecall.models.base import ChatModel
from rolecall.models.wrappers import Cached, RateLimited


def limited(model: ChatModel, spec: BatchSpec, *, cache: Path | None = None) -> ChatModel:
    """``model`` behind the spec's rate limits and, when asked, the replay cache."""
    if cache is not None:
        model = Cached(model, cache)
    if spec.rpm or spec.tpm:
        model = RateLimited(model, rpm=spec.rpm, tpm=spec.tpm)
    return model


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
            f"{progress.done / elapsed:.2f} conv/s · {progress.tokens / elapsed:,.0f} tok/s · ${progress.cost_usd:.4f}"
        )
        bar.update(task, total=progress.planned, completed=progress.finished, detail=detail)

    with bar:
        yield update
