"""Every command of the README's command-line block, run as written on the embedded model.

The block is read from README.md itself, so the test and the README cannot drift apart.
Each dialogue it starts (role-plays, the society, the resumed conversation, the batch)
must hold several turns with the embedded model's defaults; the other commands must
succeed on what those produced. ``serve`` runs in the foreground and is tested apart.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from rolecall.cli import main
from rolecall.transcripts import read

pytestmark = pytest.mark.embedded

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[list[str]]:
    """The commands of the README's "The command line" block, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## The command line\n\n```bash\n(.*?)```", text, re.DOTALL)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def test_the_readme_block_is_what_this_test_runs() -> None:
    commands = [command[1] for command in readme_commands()]
    assert commands == ["run", "run", "run", "run", "run", "run", "show", "tasks", "run", "resume", "batch", "judge",
                        "harvest", "stats", "schema", "serve"]  # fmt: skip


def test_every_readme_command_runs_as_written_and_holds_a_dialogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "transcripts" / "rolecall.jsonl"
    for command in readme_commands():
        assert command[0] == "rolecall"
        if command[1] == "serve":
            continue
        before = len(list(read(saved))) if saved.exists() else 0
        code = main(command[1:])
        printed = capsys.readouterr()
        assert code == 0, f"{shlex.join(command)} exited {code}: {printed.err}"
        if command[1] in ("run", "resume"):
            [transcript] = list(read(saved))[before:]
            ending = transcript.termination.reason if transcript.termination else "unfinished"
            turns = (
                int(command[command.index("--max-turns") + 1])
                if command[1] == "run" and "--max-turns" in command
                else 2
            )
            least = 3 if transcript.agents[0].kind == "member" else 2 * min(turns, 2)
            assert len(transcript.messages) >= least, f"{shlex.join(command)}: {ending} after a short dialogue"
            assert transcript.status == "ok"
            if "tools" in command[2]:  # the tool examples: tools offered by JSON Schema, every call answered
                executor = transcript.agent("Accountant")
                assert executor.tools and executor.tool_prompt and executor.tool_prompt["route"] == "json"
                called = [call.id for message in transcript.messages for call in message.tool_calls or ()]
                answered = [message.tool_call_id for message in transcript.messages if message.role == "tool"]
                assert called == answered
    conversations = list(read(tmp_path / "data" / "conversations.jsonl"))
    assert len(conversations) == 2
    assert all(len(transcript.messages) >= 4 for transcript in conversations)
    assert (tmp_path / "dataset" / "README.md").exists() and (tmp_path / "stats.html").exists()
    verdicts = [line for line in (tmp_path / "verdicts.jsonl").read_text().splitlines() if line]
    assert len(verdicts) == sum(len(t.spoken) for t in conversations)  # one per accepted turn of the batch
