"""Replies drawn in the terminal while they are written: a waiting indicator, then the tokens.

The CLI sets :meth:`LiveReply.watch` as a conversation's ``watch``; each model call made for
a reply then streams into one transient region of the terminal, which shows who is writing
and for how long until the first token, then the text so far. The CLI calls :meth:`LiveReply.stop`
before it prints the finished message (or asks a person for theirs), so the region never
mixes with the record's own rendering.
"""

from __future__ import annotations

import time

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

#: Lines of a reply shown while it is written (the panel printed afterwards has it whole).
_SHOWN_LINES = 12


class LiveReply:
    """One transient terminal region for the reply being written."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.speaker = ""
        self.text = ""
        self.started_at = 0.0
        self.first_token_at: float | None = None
        self._live: Live | None = None
        self._spinner = Spinner("dots", style="dim")

    def watch(self, speaker: str) -> LiveReply:
        """The listener for ``speaker``'s next reply (this region, retitled)."""
        self.speaker = speaker
        return self

    def started(self) -> None:
        self.text, self.started_at, self.first_token_at = "", time.monotonic(), None
        if self._live is None:
            self._live = Live(self, console=self.console, transient=True, refresh_per_second=12)
            self._live.start()

    def token(self, text: str) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.text += text

    def stop(self) -> None:
        """Take the region off the screen."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __rich__(self) -> RenderableType:
        elapsed = time.monotonic() - self.started_at
        if self.first_token_at is None:
            self._spinner.update(text=Text.assemble((self.speaker, "bold"), (f" is thinking… {elapsed:.1f} s", "dim")))
            return self._spinner
        first = self.first_token_at - self.started_at
        head = Text.assemble(
            (self.speaker, "bold"), (f" is writing · first token after {first:.1f} s · {elapsed:.1f} s", "dim")
        )
        lines = self.text.splitlines()[-_SHOWN_LINES:]
        return Group(head, Text("\n".join(lines), style="dim"))
