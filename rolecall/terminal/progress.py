"""Progress bars: a batch's, kept in step with the runner's counts, and a long read's, on stderr.

Only the CLI draws these; the library reports progress through callbacks (the batch runner's
``on_change``, a transcript reader's ``on_progress``) and never prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from rolecall.batch.runner import Progress as BatchProgress
from rolecall.transcripts.store import ReadProgress


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


@contextmanager
def read_progress(
    *, quiet: bool, label: str = "reading", console: Console | None = None
) -> Iterator[Callable[[ReadProgress], None]]:
    """A callback that draws a transient bar of a long read (bytes of all the files) on stderr.

    Nothing is drawn with ``quiet``, or when the console (stderr by default) is not a terminal:
    a pipe or a log file gets the command's output and nothing else.
    """
    console = console or Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda progress: None
        return
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[transcripts]:,} transcripts · file {task.fields[file]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label, total=None, transcripts=0, file="-")

    def update(progress: ReadProgress) -> None:
        bar.update(
            task,
            total=max(progress.bytes_total, 1),
            completed=progress.bytes_read,
            transcripts=progress.transcripts,
            file=f"{min(progress.files_read + 1, progress.files_total)}/{progress.files_total}",
        )

    with bar:
        yield update
