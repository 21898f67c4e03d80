"""A guard of your own: keep the executor's solutions short, re-asking when one runs long.

Run it (on the embedded model, or any endpoint set with OPENAI_BASE_URL):

    python examples/custom_guard.py

A guard is a class with a ``name`` and a ``check``; ``register_guard`` adds it to the same
registry the built-in guards join, after them. The spec's ``guards:`` section (or the
``guards=`` setting below) then sets its action like any other's, and when it ends a
conversation its name is the termination reason. A package can ship guards through the
entry-point group ``rolecall.guards`` instead of calling ``register_guard``.
"""

from __future__ import annotations

from rolecall import Guard, RolePlay, Turn, Verdict, open_model, register_guard


@register_guard
class Brevity(Guard):
    """Catches executor replies longer than 120 words."""

    name = "brevity"

    def check(self, turn: Turn) -> Verdict | None:
        if turn.side == "assistant" and len(turn.reply.split()) > 120:
            return self.verdict("the solution runs past 120 words", "Answer in at most 120 words.")
        return None


def main() -> None:
    with open_model() as model:
        transcript = RolePlay(
            "Plan a week of bread for a small bakery",
            assistant_role="Head Baker",
            user_role="Bakery Owner",
            model=model,
            max_turns=3,
            seed=4,
            guards={"brevity": "reask"},
        ).run()
    verdicts = [event.model_extra for event in transcript.events if event.kind == "guard"]
    ending = transcript.termination.reason if transcript.termination else "unfinished"
    print(f"ended: {ending}; guard verdicts: {len(verdicts)}")
    for verdict in verdicts:
        print(f"  {verdict}")


if __name__ == "__main__":
    main()
