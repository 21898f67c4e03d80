"""Every registry finds a new built-in by its file alone: one new module in the package, nothing else edited.

Each case runs a fresh interpreter in which the registry's package also reads a temporary
folder (as if the module were one more file of the package), and asks the registry for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rolecall

#: (the registry, its package, a new module of that package registering one member, that member's name)
CASES = [
    (
        "rolecall.guards.base:GUARDS",
        "rolecall.guards",
        """
        from rolecall.guards.base import Guard, register_guard

        @register_guard
        class NoShouting(Guard):
            '''Catches replies in capitals.'''
            name = "no_shouting"

            def check(self, turn):
                return None
        """,
        "no_shouting",
    ),
    (
        "rolecall.judges.base:JUDGES",
        "rolecall.judges",
        """
        from rolecall.judges.base import Judge, register_judge

        @register_judge
        class Strict(Judge):
            '''Calls every turn off task.'''
            name = "strict"

            async def verdicts(self, turns):
                return [self.verdict(False, 0.0, "strict") for _ in turns]
        """,
        "strict",
    ),
    (
        "rolecall.transcripts.formats.base:FORMATS",
        "rolecall.transcripts.formats",
        """
        from rolecall.transcripts.formats.base import Format, register_format

        @register_format
        class Plain(Format):
            '''One row per answer.'''
            name = "plain"
            drops = "everything but the answers"

            def rows(self, kept):
                return []
        """,
        "plain",
    ),
    (
        "rolecall.tools.builtin.base:BUILTINS",
        "rolecall.tools.builtin",
        """
        from rolecall.tools.builtin.base import BuiltinTool, register_builtin

        @register_builtin
        class Clock(BuiltinTool):
            '''The time now.'''
            name = "clock"
            description = "the time now"

            def tools(self):
                return []
        """,
        "clock",
    ),
    (
        "rolecall.dialogue.society:POLICIES",
        "rolecall.dialogue.policies",
        """
        from rolecall.dialogue.society import SocietyPolicy, register_policy

        @register_policy
        class Backwards(SocietyPolicy):
            '''Goes around the roster backwards.'''
            name = "backwards"

            async def choose(self, last):
                return self.roster[self.roster.index(last.speaker) - 1]
        """,
        "backwards",
    ),
    (
        "rolecall.cli.command:COMMANDS",
        "rolecall.cli.commands",
        """
        from rolecall.cli.command import Command, register_command

        @register_command
        class Hello(Command):
            '''Greet someone.'''
            name = "hello"
        """,
        "hello",
    ),
]

PROBE = """
import importlib, sys
registry_path, package, folder, name = sys.argv[1:]
importlib.import_module(package).__path__.append(folder)  # as if the new module were a file of the package
module, _, attribute = registry_path.partition(":")
registry = getattr(importlib.import_module(module), attribute)
names = list(registry)
print(names.index(name) if name in names else "missing", len(names))
"""


@pytest.mark.parametrize(("registry", "package", "module", "name"), CASES, ids=[case[3] for case in CASES])
def test_a_new_module_of_the_package_joins_the_registry(
    registry: str, package: str, module: str, name: str, tmp_path: Path
) -> None:
    (tmp_path / f"new_{name}.py").write_text(textwrap.dedent(module))
    where = str(Path(rolecall.__file__).parent.parent)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([where, os.environ.get("PYTHONPATH", "")])}
    run = [sys.executable, "-c", PROBE, registry, package, str(tmp_path), name]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    index, count = done.stdout.split()
    assert index != "missing"
    if name == "no_shouting":  # guards run in registry order: a new one runs after every built-in
        assert int(index) == int(count) - 1
