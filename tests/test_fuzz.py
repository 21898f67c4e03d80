"""Hostile input, generated: no spec or transcript file can crash a reader or cost a good record.

Hypothesis builds spec files (valid specs with one field replaced by anything YAML can say,
random YAML, random bytes) and transcript files (valid records mixed with random bytes,
random JSON, mutated records and torn tails), then runs the commands that read them. What
must hold: no exception escapes ``main``, the exit code is 0, 1 or 2, an error is one line
naming the file, and every valid record survives the harvest. The example count is small
in CI (``--hypothesis-profile`` ``ci``, the default) and large under ``make fuzz``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolecall.batch import load_batch_spec
from rolecall.cli import main
from rolecall.dialogue import RolePlay
from rolecall.errors import SpecError
from rolecall.spec import load_spec
from rolecall.tasks import TaskGraph
from rolecall.testing import FakeOpenAIServer, ScriptedModel
from rolecall.transcripts import Message, TaskText, Termination, Transcript, read

FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)

# -- hostile values ------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", " ", "\n", "\x00", "-1", "1e999", "NaN", "<TASK_DONE>", "a" * 5000, "☃" * 50]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)

VALID_RUN_SPEC: dict[str, Any] = {
    "task": "Develop a trading bot",
    "assistant": {"role": "Python Programmer"},
    "user": {"role": "Stock Trader"},
    "max_turns": 2,
    "seed": 3,
    "subtasks": [{"id": "a", "title": "Design it"}, {"id": "b", "title": "Test it", "after": ["a"]}],
    "guards": {"echo": "flag", "max_reasks": 1},
    "params": {"temperature": 0.5, "max_tokens": 64},
}
VALID_SOCIETY_SPEC: dict[str, Any] = {
    "task": "Plan a launch",
    "agents": [{"name": "Ann", "role": "Lead"}, {"name": "Bo", "role": "Engineer"}],
    "turns": {"policy": "round_robin"},
    "max_turns": 3,
}
VALID_BATCH_SPEC: dict[str, Any] = {
    "assistant_roles": ["Chef"],
    "user_roles": ["Baker"],
    "tasks": ["Price a menu"],
    "samples": 2,
    "max_turns": 2,
}


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into nested dicts and lists, the root included."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(data))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """``valid`` with one place (or a new key) set to any value."""
    paths = list(_paths(valid))
    path = draw(st.sampled_from(paths))
    if draw(st.booleans()) and isinstance(valid, dict):
        path = (draw(st.text(max_size=10)),)
    return _replace(valid, path, draw(values))


def _yaml_text(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return json.dumps(data, default=str)


yaml_texts = st.one_of(
    mutated(VALID_RUN_SPEC).map(_yaml_text),
    mutated(VALID_SOCIETY_SPEC).map(_yaml_text),
    values.map(_yaml_text),
    st.text(max_size=200),
    st.sampled_from(["&a [*a]", "a: &x 1\nb: *x\n", "!!python/object:os.system {}", "? [a]\n: 1", "{{{{", "---\n---"]),
)
spec_bytes = st.one_of(yaml_texts.map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary(max_size=300))


# -- specs ---------------------------------------------------------------------------------


def _assert_one_line_naming(message: str, path: Path) -> None:
    assert "\n" not in message, message
    assert str(path) in message, message


@FUZZ
@given(raw=spec_bytes)
def test_any_run_spec_loads_or_is_one_line_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(raw)
    try:
        load_spec(path)
    except SpecError as exc:
        _assert_one_line_naming(str(exc), path)


@FUZZ
@given(data=mutated(VALID_BATCH_SPEC))
def test_any_batch_spec_loads_or_is_one_line_error(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(_yaml_text(data))
    try:
        load_batch_spec(path)
    except SpecError as exc:
        assert "\n" not in str(exc), str(exc)


@pytest.fixture(scope="module")
def done_server() -> Iterator[FakeOpenAIServer]:
    """Every speaker says it is done at once: a valid spec ends after a few calls."""
    with FakeOpenAIServer(lambda request: "<TASK_DONE>") as server:
        yield server


@FUZZ
@given(raw=spec_bytes)
def test_run_never_raises_and_exits_0_1_or_2(
    tmp_path: Path, raw: bytes, done_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(raw)
    out = tmp_path / f"{uuid.uuid4().hex}.jsonl"
    code = main(["run", str(path), "--base-url", done_server.base_url, "--quiet", "--out", str(out)])
    assert code in (0, 1, 2)
    if code == 2:
        errors = capsys.readouterr().err.strip().splitlines()
        assert len(errors) == 1 and errors[0].startswith("rolecall: error:"), errors
    else:
        capsys.readouterr()


# -- transcripts ---------------------------------------------------------------------------


def valid_record(number: int) -> Transcript:
    """A finished conversation the quality floor keeps, with a marker no other record holds."""
    marker = f"marker{number}x{uuid.uuid4().hex[:8]}"
    return Transcript(
        id=f"{uuid.uuid4().hex}",
        task=TaskText(original=f"Task {marker}"),
        agents=[
            {"name": "Trader", "role": "Trader", "kind": "user", "system_prompt": "You instruct."},
            {"name": "Coder", "role": "Coder", "kind": "assistant", "system_prompt": "You solve."},
        ],
        done_token="<TASK_DONE>",
        messages=[
            Message(
                index=0, turn=1, speaker="Trader", role="user", content=f"Instruction: write {marker}\nInput: None"
            ),
            Message(
                index=1,
                turn=1,
                speaker="Coder",
                role="assistant",
                content=f"Solution: {marker} is written out in full, with tests.",
            ),
            Message(index=2, turn=2, speaker="Trader", role="user", content="<TASK_DONE>"),
        ],
        termination=Termination(reason="task_done", turn=2),
    )


TEMPLATE = json.loads(valid_record(0).to_json())


def two_steps() -> TaskGraph:
    graph = TaskGraph()
    graph.add("list", "List the breads")
    graph.add("price", "Price the breads", after=["list"])
    return graph


#: A real conversation stopped by its turn limit, with settings, graph and events: what resume reads.
STOPPED = json.loads(
    RolePlay(
        "Plan a bakery", assistant_role="Baker", user_role="Owner", max_turns=1, seed=2,
        graph=two_steps(), user_model=ScriptedModel(["Instruction: list the breads\nInput: None"]),
        assistant_model=ScriptedModel(["Solution: rye, spelt and white.\nNext request."]),
    ).run().to_json()
)  # fmt: skip

hostile_lines = st.one_of(
    st.binary(max_size=200).map(lambda raw: raw.replace(b"\n", b" ")),
    values.map(lambda value: json.dumps(value, allow_nan=True).encode()),
    mutated(TEMPLATE).map(lambda value: json.dumps(value, allow_nan=True).encode()),
    mutated(STOPPED).map(lambda value: json.dumps(value, allow_nan=True).encode()),
    st.sampled_from(
        [
            b"[" * 5000 + b"]" * 5000,
            b'{"schema_version": 1, "id": "x", "task": {"original": "t"}, "seed": ' + b"9" * 5000 + b"}",
            b'{"schema_version": 1, "id": "x", "task": {"original": "t"}, "usage": {"cost_usd": NaN}}',
            b'{"schema_version": 1, "id": "x", "task": {"original": "t"}, "task_graph": {"nodes": 5}}',
            b'{"schema_version": 1, "id": "x", "task": {"original": "t"}, "events": [{"turn": 0, "kind": "guard"}]}',
            b"\xef\xbb\xbf{}",
        ]
    ),
)


@st.composite
def transcript_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A file of hostile lines with valid records among them, and the valid records' markers."""
    valid_count = draw(st.integers(min_value=0, max_value=3))
    lines: list[bytes] = draw(st.lists(hostile_lines, max_size=6))
    markers = []
    for number in range(valid_count):
        record = valid_record(number)
        markers.append(record.messages[1].content.split()[1])
        lines.insert(draw(st.integers(min_value=0, max_value=len(lines))), record.to_json().encode())
    raw = b"\n".join(lines) + b"\n"
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=50)).replace(b"\n", b"")  # a torn tail
    return raw, markers


@FUZZ
@given(case=transcript_files())
def test_every_reader_survives_and_every_valid_record_is_harvested(
    tmp_path: Path, case: tuple[bytes, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    raw, markers = case
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    (folder / "runs.jsonl").write_bytes(raw)
    (folder / "not-a-file.jsonl").mkdir()  # a folder where a file was expected
    out = tmp_path / f"out-{uuid.uuid4().hex}"
    harvest_args = ["--reasons", "task_done", "--min-turns", "0", "--no-near-dup"]
    code = main(["harvest", "--judge", "lexical", str(folder), "--format", "openai", "--out", str(out), *harvest_args])
    assert code == 0
    written = (out / "train.jsonl").read_text() if (out / "train.jsonl").exists() else ""
    for marker in markers:
        assert marker in written, marker
    for command in (
        ["stats", "--judge", "lexical", str(folder)],
        ["show", str(folder)],
        ["tasks", str(folder / "runs.jsonl")],
    ):
        assert main(command) in (0, 1, 2)
    for line in capsys.readouterr().err.splitlines():
        assert line.startswith("rolecall: "), line
    resume_each(read(folder))


# -- the corpus of nasty cases found, replayed every run -----------------------------------

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("path", sorted((CORPUS / "specs").iterdir()), ids=lambda path: path.name)
def test_corpus_spec_is_a_one_line_error(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(path), "--base-url", "http://127.0.0.1:9/v1", "--quiet"])
    assert code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"rolecall: error: {path}"), line


@pytest.mark.parametrize("path", sorted((CORPUS / "transcripts").iterdir()), ids=lambda path: path.name)
def test_corpus_transcripts_cost_only_their_bad_lines(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = valid_record(1)
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(path.read_bytes().rstrip(b"\n") + b"\n" + good.to_json().encode() + b"\n")
    out = tmp_path / "out"
    code = main(
        ["harvest", "--judge", "lexical", str(source), "--format", "sharegpt", "--out", str(out), "--min-turns", "0"]
    )
    assert code == 0
    assert good.messages[1].content.split()[1] in (out / "train.jsonl").read_text()
    for line in capsys.readouterr().err.splitlines():
        assert line.startswith("rolecall: "), line
    for command in (["stats", "--judge", "lexical", str(source)], ["show", str(source)], ["tasks", str(source)]):
        assert main(command) in (0, 2)
    resume_each(read(source))


def resume_each(transcripts: Iterable[Transcript]) -> None:
    """Whatever reads can be resumed (and run), or is refused with a one-line ``SpecError``."""
    for transcript in transcripts:
        try:
            resumed = RolePlay.resume(transcript, model=ScriptedModel(["<TASK_DONE>"], repeat_last=True), max_turns=1)
        except SpecError as exc:
            assert "\n" not in str(exc)
            continue
        assert resumed.run().termination is not None


def test_a_file_that_changes_or_vanishes_while_read_costs_only_what_changed(tmp_path: Path) -> None:
    from rolecall.transcripts import Reader

    source = tmp_path / "runs.jsonl"
    records = [valid_record(number) for number in range(4)]
    source.write_text("".join(record.to_json() + "\n" for record in records))
    reader = Reader()
    seen = []
    for transcript in reader.read([source]):
        seen.append(transcript.id)
        if len(seen) == 1:  # another process cuts the file mid-record while it is read
            with source.open("r+b") as handle:
                handle.truncate(source.stat().st_size * 3 // 4)
    assert seen[0] == records[0].id and 1 <= len(seen) <= 3
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.jsonl").write_text(records[0].to_json() + "\n")
    (folder / "b.jsonl").write_text(records[1].to_json() + "\n")
    (folder / "c.jsonl").write_text(records[2].to_json() + "\n")
    reader = Reader()
    seen = []
    for transcript in reader.read([folder]):
        seen.append(transcript.id)
        if len(seen) == 1:
            (folder / "b.jsonl").unlink()  # vanishes between the listing and its turn to be read
    assert seen == [records[0].id, records[2].id]
    [bad] = reader.bad
    assert (bad.path.name, bad.line) == ("b.jsonl", 0) and "cannot read" in bad.reason
