"""Built-in tools are one registry: a new built-in is one registered class, and an unknown name is an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from plugins import install_plugin
from tool_scripts import ANSWER, DONE, INSTRUCTION, call, tool_messages

from rolecall import Settings, ToolSettings
from rolecall.errors import SpecError
from rolecall.spec import parse_spec
from rolecall.testing import ScriptedModel
from rolecall.tools import BUILTINS, BuiltinTool, Tool, Toolkit, register_builtin, tool

SPEC = {
    "task": "Bake the rye loaves",
    "assistant": {"role": "Baker", "tools": ["oven"]},
    "user": {"role": "Owner"},
}
UNKNOWN_OVEN = (
    "tools: no built-in tool 'oven'; built-ins: calculator, notes, python; or name a function as 'module:function'"
)


def test_a_new_builtin_is_one_registered_class_that_a_spec_names() -> None:
    closed: list[int] = []
    with BUILTINS.scoped():

        @register_builtin
        class Oven(BuiltinTool):
            """Bakes; counts the loaves of one conversation."""

            name = "oven"
            description = "bakes a dough at a temperature"

            def __init__(self, settings: ToolSettings) -> None:
                super().__init__(settings)
                self.loaves = 0

            def tools(self) -> list[Tool]:
                @tool
                def bake(dough: str, celsius: int) -> str:
                    """Bake a dough at a temperature."""
                    self.loaves += 1
                    return f"loaf {self.loaves}: {dough} baked at {celsius} C"

                return [bake]

            async def close(self) -> None:
                closed.append(self.loaves)

        assert "oven" in BUILTINS and BUILTINS.get("oven") is Oven
        model = ScriptedModel([INSTRUCTION, call("bake", dough="rye", celsius=220), ANSWER, DONE])
        transcript = parse_spec(SPEC).build(model).run()

    assert [message.content for message in tool_messages(transcript)] == ["loaf 1: rye baked at 220 C"]
    assert "loaf 1: rye baked at 220 C" in model.calls[2][-1]["content"]  # the result went back to the agent
    baker = next(agent for agent in transcript.agents if agent.name == "Baker")
    assert [(recorded.name, recorded.source) for recorded in baker.tools] == [("bake", "oven")]  # named again on resume
    assert closed == [1]  # one instance for the conversation, closed when it ended
    assert "oven" not in BUILTINS  # the registration left with the block
    with pytest.raises(SpecError) as raised:
        parse_spec(SPEC).build(ScriptedModel([]))
    assert str(raised.value) == UNKNOWN_OVEN


def test_a_name_that_is_not_registered_is_a_one_line_error_never_the_sandbox() -> None:
    with pytest.raises(SpecError) as raised:
        Toolkit({"A": ["pyhton"]}, Settings().tool_settings)  # the sandbox's name misspelled: not the sandbox
    assert str(raised.value) == UNKNOWN_OVEN.replace("'oven'", "'pyhton'")


def test_each_builtin_makes_its_own_tool_recorded_under_its_name() -> None:
    async def made() -> dict[str, list[tuple[str, object]]]:
        toolkit = Toolkit({name: [name] for name in BUILTINS}, Settings().tool_settings)
        await toolkit.open()
        try:
            return {
                name: [(found.name, found.source) for found in box.tools.values()]
                for name in BUILTINS
                if (box := toolkit.toolbox(name)) is not None
            }
        finally:
            await toolkit.close()

    assert asyncio.run(made()) == {
        "calculator": [("calculator", "calculator")],
        "notes": [("notes", "notes")],
        "python": [("python", "python")],
    }
    assert all(BUILTINS.get(name).description for name in BUILTINS)  # each says what it is for


def test_a_taken_builtin_name_is_one_line() -> None:
    class Impostor(BuiltinTool):
        name = "calculator"

    with BUILTINS.scoped(), pytest.raises(SpecError) as raised:
        register_builtin(Impostor)
    assert str(raised.value) == (
        "built-in tool name 'calculator' is taken by rolecall.tools.builtin.calculator.CalculatorBuiltin"
    )


def test_a_builtin_from_an_installed_package_joins_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from rolecall.tools import BuiltinTool, tool\n"
        "@tool\n"
        "def clock() -> str:\n"
        "    '''The time on the bakery clock.'''\n"
        "    return 'half past four'\n"
        "class Clock(BuiltinTool):\n"
        "    name = 'clock'\n"
        "    description = 'the time now'\n"
        "    def tools(self):\n"
        "        return [clock]\n"
    )
    with BUILTINS.scoped():
        install_plugin(
            tmp_path, monkeypatch, BUILTINS, package="clock_tools", source=source, entry="clock = clock_tools:Clock"
        )
        assert list(BUILTINS) == ["calculator", "notes", "python", "clock"]
        model = ScriptedModel([INSTRUCTION, call("clock"), ANSWER, DONE])
        transcript = parse_spec({**SPEC, "assistant": {"role": "Baker", "tools": ["clock"]}}).build(model).run()
    assert [message.content for message in tool_messages(transcript)] == ["half past four"]
    assert "clock" not in BUILTINS
