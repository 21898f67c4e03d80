"""Guards users add: one registered in code, one shipped by an installed package's entry point.

Both run after the built-ins, record their verdicts like them, and end a conversation with
their own names as the termination reason, which ``rolecall stats`` counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from plugins import install_plugin

from rolecall import Guard, RolePlay, Transcript, Turn, Verdict, register_guard, registered_guards
from rolecall.cli import main
from rolecall.errors import SpecError
from rolecall.guards.base import GUARDS
from rolecall.spec import parse_spec
from rolecall.testing import ScriptedModel
from rolecall.transcripts import append

INSTRUCTION = "Instruction: list the prices of three breads\nInput: None"
PRICED = "Solution: rye 4.10, spelt 4.80, white 3.20.\nNext request."
SHOUTED = "Solution: RYE BREAD COSTS 4.10, SPELT BREAD COSTS 4.80, WHITE BREAD COSTS 3.20!\nNext request."
DONE = "<TASK_DONE>"


@pytest.fixture(autouse=True)
def _registry_restored() -> Iterator[None]:
    """Guards registered by a test leave with it."""
    with GUARDS.scoped():
        yield


class NoShouting(Guard):
    """Catches replies written in capitals."""

    name = "no_shouting"

    def check(self, turn: Turn) -> Verdict | None:
        letters = [char for char in turn.reply if char.isalpha()]
        if len(letters) > 20 and sum(char.isupper() for char in letters) / len(letters) > 0.6:
            return self.verdict("the reply shouts", "Write in ordinary sentence case.")
        return None


def play(assistant: list[str], **options: object) -> Transcript:
    return RolePlay(
        "Price the breads", assistant_role="Baker", user_role="Owner",
        user_model=ScriptedModel([INSTRUCTION, DONE]), assistant_model=ScriptedModel(assistant), **options,  # type: ignore[arg-type]
    ).run()  # fmt: skip


def guard_events(transcript: Transcript) -> list[dict[str, object]]:
    return [dict(event.model_extra or {}) for event in transcript.events if event.kind == "guard"]


def test_a_guard_registered_in_code_reasks_and_records_its_verdict() -> None:
    register_guard(NoShouting)
    assert list(registered_guards())[-1] == "no_shouting"  # after the built-ins
    transcript = play([SHOUTED, PRICED])
    assert transcript.messages[1].content == PRICED and transcript.messages[1].reasks == 1
    [event] = guard_events(transcript)
    assert event == {"guard": "no_shouting", "action": "reask", "speaker": "Baker", "detail": "the reply shouts",
                     "rejected": SHOUTED}  # fmt: skip


def test_a_custom_guard_stops_with_its_own_name_and_stats_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_guard(NoShouting)
    spec = parse_spec({"task": "Price the breads", "assistant": {"role": "Baker"}, "user": {"role": "Owner"},
                       "guards": {"no_shouting": "stop"}})  # fmt: skip
    transcript = spec.build(ScriptedModel([INSTRUCTION, SHOUTED])).run()
    assert transcript.termination is not None and transcript.termination.reason == "no_shouting"
    assert transcript.status == "ok"
    append(tmp_path / "runs.jsonl", transcript)
    assert main(["stats", "--judge", "lexical", str(tmp_path)]) == 0
    assert "no_shouting" in capsys.readouterr().out


def test_an_unknown_guard_name_is_a_one_line_error_naming_the_known_ones() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"task": "t", "assistant": {"role": "A"}, "user": {"role": "U"}, "guards": {"shouting": "stop"}})
    message = str(caught.value)
    assert message.startswith("spec: guards.shouting: no such guard; known guards: empty, role_flip, off_format")
    assert "\n" not in message


def test_guard_names_and_options_are_checked() -> None:
    class Bad(Guard):
        name = "Not A Name"

    with pytest.raises(SpecError, match="must be lower case"):
        register_guard(Bad)
    with pytest.raises(SpecError, match="taken by"):
        register_guard(type("Empty2", (Guard,), {"name": "empty"}))
    with pytest.raises(SpecError, match=r"guards\.echo: threshold must be above 0"):
        parse_spec(
            {"task": "t", "assistant": {"role": "A"}, "user": {"role": "U"}, "guards": {"echo": {"threshold": 7}}}
        )
    with pytest.raises(SpecError, match=r"guards\.refusal: this guard takes no options \(given: strictness\)"):
        parse_spec({"task": "t", "assistant": {"role": "A"}, "user": {"role": "U"},
                    "guards": {"refusal": {"strictness": 2}}})  # fmt: skip


PLUGIN = '''
from rolecall import Guard, Turn, Verdict


class NoPrices(Guard):
    """Catches replies that quote a price."""

    name = "no_prices"
    action = "stop"

    def check(self, turn: Turn) -> Verdict | None:
        if any(char.isdigit() for char in turn.reply) and turn.side == "assistant":
            return self.verdict("the reply quotes a price", "Leave prices out.")
        return None
'''


def test_a_guard_shipped_by_a_package_through_its_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(
        tmp_path,
        monkeypatch,
        GUARDS,
        package="bakery_guards",
        source=PLUGIN,
        entry="no_prices = bakery_guards:NoPrices",
    )
    assert "no_prices" in registered_guards()
    transcript = play([PRICED])  # its default action is stop
    assert transcript.termination is not None and transcript.termination.reason == "no_prices"
    [event] = guard_events(transcript)
    assert (event["guard"], event["action"], event["rejected"]) == ("no_prices", "stop", PRICED)
    flagged = play([PRICED], guards={"no_prices": "flag"})
    assert flagged.termination is not None and flagged.termination.reason == "task_done"
