"""A person at the terminal: their brief once, then each turn typed as lines until a blank line.

:class:`TerminalPerson` is the input function and the notice line behind ``rolecall run
--human`` and a human critic. It reads standard input, so a session can also be piped in;
the end of input counts as ``/quit`` (the conversation is saved as ``interrupted``).
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from rolecall.agents.human import QUIT, UNDO, HumanTurn, Person
from rolecall.terminal.live import LiveReply


class TerminalPerson:
    """Reads a person's turns from standard input and shows them notices."""

    def __init__(self, console: Console, live: LiveReply | None = None) -> None:
        self.console = console
        self.live = live
        self._briefed: set[str] = set()

    def person(self, plays: str | None) -> Person:
        """This terminal as a :class:`Person` playing ``plays`` (``None``: only judging, as a critic)."""
        return Person(ask=self.ask, tell=self.tell, plays=plays)

    def ask(self, turn: HumanTurn) -> str:
        if self.live is not None:
            self.live.stop()
        if turn.speaker not in self._briefed and turn.messages:
            self._briefed.add(turn.speaker)
            brief = Text(turn.messages[0]["content"])
            self.console.print(Panel(brief, title=f"your brief as {turn.speaker}", title_align="left", style="dim"))
        if turn.question:
            self.console.print(Panel(Text(turn.question), title=turn.speaker, title_align="left"))
        self.console.print(Text.assemble((f"{turn.speaker} (you)", "bold"), (f" · {turn.hint}", "dim")))
        lines: list[str] = []
        while True:
            try:
                line = input("> " if not lines else "  ")
            except EOFError:
                return "\n".join(lines) if lines else QUIT
            if not lines and line.strip().lower() in (UNDO, QUIT):
                return line.strip().lower()
            if line.strip():
                lines.append(line)
            elif lines:
                return "\n".join(lines)

    def tell(self, text: str) -> None:
        if self.live is not None:
            self.live.stop()
        self.console.print(Text(f"  {text}", style="yellow"))
