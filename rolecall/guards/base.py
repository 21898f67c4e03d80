"""What a guard is, and the one registry that built-in guards and users' guards join alike.

A guard looks at one reply in context (a :class:`Turn`) and returns a :class:`Verdict` or
nothing. Guards run in the order they were registered, the built-ins first; the first
verdict wins. A guard joins by :func:`register_guard` (a call or a class decorator) or, from
an installed package, by the entry point group ``rolecall.guards``::

    [project.entry-points."rolecall.guards"]
    no_emoji = "my_package.guards:NoEmoji"

What happens on a verdict is the guard's *action*, its own default unless the spec's
``guards:`` section sets another: ``reask``, ``flag``, ``stop`` or ``off``. A guard that
ends a conversation gives its name as the termination reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rolecall.errors import SpecError
from rolecall.models.base import ToolCall
from rolecall.prompts import prompt
from rolecall.registry import Registry
from rolecall.settings import Action, GuardSettings

log = logging.getLogger(__name__)

#: Which part an agent plays: CAMEL's instructor ("user"), executor ("assistant"), or a society member.
Side = Literal["user", "assistant", "member"]
ENTRY_POINT_GROUP = "rolecall.guards"


@dataclass(frozen=True)
class Turn:
    """What a guard may look at: the reply, who wrote it, and the dialogue so far."""

    reply: str
    speaker: str
    side: Side
    done_token: str
    history: Sequence[tuple[str, str]] = ()  # (speaker, content), oldest first
    others: Sequence[str] = ()  # the other speakers' names
    calls: Sequence[ToolCall] = ()  # the tools the reply calls (judged by guards that judge calls)
    problems: Sequence[str] = ()  # what is wrong with those calls (unknown tool, arguments that do not fit)

    @property
    def is_done(self) -> bool:
        return self.done_token in self.reply

    def last_other(self) -> str | None:
        """The latest message by someone else."""
        for speaker, content in reversed(self.history):
            if speaker != self.speaker:
                return content
        return None

    def own(self) -> list[str]:
        """The speaker's own earlier messages, oldest first."""
        return [content for speaker, content in self.history if speaker == self.speaker]


@dataclass(frozen=True)
class Verdict:
    """A guard's objection: which guard, what it saw, and the reminder sent with a re-ask."""

    guard: str
    detail: str
    reminder: str


class Guard:
    """One named check of a reply. Subclass, set ``name``, write :meth:`check`, register.

    The class docstring says what the guard catches (``rolecall`` shows it). ``action`` is
    the default action. Options from the spec (``guards: {NAME: {action: ..., OPTION: V}}``)
    are passed to the constructor as keyword arguments.
    """

    name: ClassVar[str] = ""
    action: ClassVar[Action] = "reask"
    #: Whether the guard judges replies that call tools (True) or answers (False, most guards).
    judges_calls: ClassVar[bool] = False

    def check(self, turn: Turn) -> Verdict | None:
        """A verdict when ``turn.reply`` is unacceptable, else None."""
        raise NotImplementedError

    def verdict(self, detail: str, reminder: str) -> Verdict:
        """A verdict by this guard: ``detail`` for the record, ``reminder`` for the agent on a re-ask."""
        return Verdict(self.name, detail, reminder)

    def remind(self, key: str, detail: str, **values: Any) -> Verdict:
        """A verdict whose reminder is the packaged template ``key`` of ``prompts/guards.yaml``."""
        return self.verdict(detail, prompt(key, values, group="guards"))


#: Every guard, in the order they run: the built-ins (``rolecall.guards.builtin``) first, then plugins.
GUARDS: Registry[Guard] = Registry(
    "guard", ENTRY_POINT_GROUP, Guard, name_of=lambda guard: guard.name, reserved=GuardSettings.model_fields,
    package="rolecall.guards",
)  # fmt: skip


def register_guard(guard: type[Guard]) -> type[Guard]:
    """Add ``guard`` to the registry (usable as a class decorator); it runs after those before it."""
    return GUARDS.register(guard)


def registered_guards() -> dict[str, type[Guard]]:
    """Every registered guard by name, in the order they run (installed packages' guards included)."""
    return GUARDS.members()


def action_of(settings: GuardSettings, guard: type[Guard]) -> Action:
    """The action ``settings`` give ``guard``: its own default unless set; ``off`` when guards are disabled."""
    return settings.actions.get(guard.name, guard.action) if settings.enabled else "off"


def build(settings: GuardSettings) -> list[Guard]:
    """The guards to run, in registry order; an unknown name or option is a one-line ``SpecError``."""
    known = registered_guards()
    for name in [*settings.actions, *settings.options]:
        if name not in known:
            raise SpecError(f"guards.{name}: no such guard; known guards: {', '.join(known)}")
    made = []
    for name, guard in known.items():
        if action_of(settings, guard) == "off":
            continue
        options = settings.options.get(name, {})
        if options and guard.__init__ is object.__init__:
            raise SpecError(f"guards.{name}: this guard takes no options (given: {', '.join(map(str, options))})")
        try:
            made.append(guard(**options))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"guards.{name}: {exc}") from None
    return made


def first_verdict(guards: Sequence[Guard], turn: Turn) -> Verdict | None:
    """The first guard that objects to ``turn``, if any."""
    for guard in guards:
        verdict = guard.check(turn)
        if verdict is not None:
            return verdict
    return None
