"""Secrets never leak: keys planted everywhere a run, a batch or a harvest takes text from.

Keys of several shapes go into the task, the roles, the model's replies, a server's error
message, an unexpected field of a transcript line and the configured API key itself; then
every byte rolecall wrote (transcripts, failures, manifest, tasks, cache, datasets in every
format, cards, reports, rejected rows, stats pages, error lines) is searched for them.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from rolecall._secrets import REDACTED, ScrubbingFilter, clean, scrub
from rolecall.cli import main
from rolecall.testing import FakeOpenAIServer, FakeResponse
from rolecall.transcripts.formats import FORMATS

KEYS = {
    "openai": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8t",
    "anthropic": "sk-ant-api03-" + "Zx8Cv7Bn6Mq5Wr4Et3Yu2Io1",
    "huggingface": "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "github": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "slack": "xoxb-" + "1234567890-abcdefghij",
    "google": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}
CONFIGURED_KEY = "corp-internal-credential-7f3a9b"  # not key-shaped: scrubbed because it is configured
PLANTED = " ".join(KEYS.values())


def leaks(folder: Path) -> list[str]:
    """Every (file, key) pair where a planted key survives in a file under ``folder``."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, key in [*KEYS.items(), ("configured", CONFIGURED_KEY)]:
                if key.encode() in data:
                    found.append(f"{path.name}: {name}")
    return found


def test_every_shape_is_scrubbed_and_counted() -> None:
    text, count = scrub(
        f"keys: {PLANTED} and a PEM -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"
    )
    assert count == len(KEYS) + 1
    assert all(key not in text for key in KEYS.values()) and "MIIE" not in text
    assert clean("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345") == f"Authorization: {REDACTED}"
    ordinary = "Instruction: ask the skeptic about high-throughput hf_ models\nInput: None"
    assert clean(ordinary) == ordinary


def test_scrubbed_json_stays_json() -> None:
    line = json.dumps({"content": f'quote " and {KEYS["openai"]}\\', "n": 1})
    assert json.loads(clean(line))["content"] == f'quote " and {REDACTED}\\'


def test_log_lines_are_scrubbed() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubbingFilter())
    logger = logging.getLogger("rolecall.test_secrets")
    logger.addHandler(handler)
    try:
        logger.warning("calling with %s", KEYS["github"])
    finally:
        logger.removeHandler(handler)
    assert KEYS["github"] not in stream.getvalue() and REDACTED in stream.getvalue()


def leaky_responder(request: dict[str, object]) -> str:
    """A model that repeats keys back: the instructor once, then done; the executor every time."""
    messages = request["messages"]
    assert isinstance(messages, list)
    if "who carries out your instructions" in str(messages[0]["content"]):
        turns = sum(message["role"] == "assistant" for message in messages)
        return "<TASK_DONE>" if turns else f"Instruction: store {KEYS['slack']} safely\nInput: {KEYS['aws']}"
    return f"Solution: saved {PLANTED} and {CONFIGURED_KEY}.\nNext request."


def test_run_and_harvest_write_no_key_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CONFIGURED_KEY)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"task: Rotate the key {KEYS['openai']}\n"
        f"assistant: {{role: Engineer, description: 'holds {KEYS['huggingface']}'}}\n"
        "user: {role: Manager}\nmax_turns: 3\nguards: {enabled: false}\n"
    )
    runs = tmp_path / "runs" / "runs.jsonl"
    with FakeOpenAIServer(leaky_responder) as server:
        assert main(["run", str(spec), "--base-url", server.base_url, "--quiet", "--out", str(runs)]) == 0
        with FakeOpenAIServer(
            faults=[FakeResponse(status=400, raw=f'{{"error": "bad key {KEYS["google"]}"}}'.encode())]
        ) as bad:
            assert main(["run", str(spec), "--base-url", bad.base_url, "--quiet", "--out", str(runs)]) == 1
    # a line written by another tool, with keys in fields rolecall never writes
    saved = json.loads(runs.read_text().splitlines()[0])
    saved |= {"id": "foreign", "notes": {"credentials": [KEYS["stripe"], KEYS["jwt"]]}}
    saved["messages"][1]["content"] += f" {KEYS['jwt']}"
    foreign = tmp_path / "runs" / "foreign.jsonl"
    foreign.write_text(json.dumps(saved) + "\n")
    for fmt in FORMATS:
        out = tmp_path / "datasets" / fmt
        assert (
            main(
                [
                    "harvest",
                    "--judge",
                    "lexical",
                    str(tmp_path / "runs"),
                    "--format",
                    fmt,
                    "--out",
                    str(out),
                    "--keep-rejected",
                ]
            )
            == 0
        )
    assert main(["stats", "--judge", "lexical", str(tmp_path / "runs"), "--plot", str(tmp_path / "stats.html")]) == 0
    assert [leak for leak in leaks(tmp_path) if not leak.startswith(("spec.yaml", "foreign.jsonl"))] == []
    report = json.loads((tmp_path / "datasets" / "parquet" / "harvest_report.json").read_text())
    assert report["secrets_scrubbed"] > 0
    printed = capsys.readouterr()
    assert all(key not in printed.err for key in KEYS.values()) and CONFIGURED_KEY not in printed.err


def test_batch_files_and_cache_hold_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CONFIGURED_KEY)
    spec = tmp_path / "batch.yaml"
    spec.write_text(
        f"assistant_roles: [Engineer]\nuser_roles: [Manager]\ntasks: ['Rotate {KEYS['openai']}']\n"
        f"max_turns: 2\nguards: {{enabled: false}}\nmax_attempts: 1\n# the key is {KEYS['github']}\n"
    )
    out = tmp_path / "batch"
    faults = [FakeResponse(status=400, raw=f'{{"error": "no {KEYS["google"]}"}}'.encode())]
    with FakeOpenAIServer(leaky_responder, faults=faults) as server:
        args = ["batch", str(spec), "--out", str(out), "--base-url", server.base_url, "--quiet"]
        main([*args, "--cache", str(tmp_path / "cache.sqlite")])
        spec.write_text(spec.read_text().replace("tasks: [", "samples: 2\ntasks: ["))
        main([*args, "--cache", str(tmp_path / "cache.sqlite")])
    assert (out / "conversations.jsonl").exists() and (out / "manifest.json").exists()
    assert [leak for leak in leaks(tmp_path) if not leak.startswith("batch.yaml")] == []
