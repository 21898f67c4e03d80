"""``rolecall view``: the catalogue, the pages over HTTP, marks, and new data arriving."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from viewer_data import make_folder

from rolecall.cli import main
from rolecall.transcripts.store import append, read
from rolecall.viewer import Catalog, Filters, Viewer, ViewServer


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def post(url: str, form: dict[str, str], origin: str | None = None) -> int:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    if origin:
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_catalogue_filters_and_reads_only_appended_lines(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    catalog = Catalog([folder])
    assert catalog.refresh() == 12 and catalog.refresh() == 0
    loops = catalog.select(Filters(reason="loop"), {})
    assert len(loops) == 4 and all(entry.reason == "loop" for entry in loops)
    assert len(catalog.select(Filters(guard="any"), {})) == 5
    assert [e.title for e in catalog.select(Filters(text="task 7 about"), {})] == ["Research task 7 about topic 7"]
    assert len(catalog.select(Filters(role="analyst 1"), {})) == 6
    assert len(catalog.select(Filters(mark="keep"), {loops[0].key: "keep"})) == 1
    with (folder / "conversations.jsonl").open("ab") as handle:
        handle.write(b'{"torn line without an end')
    assert catalog.refresh() == 0  # a line still being written waits
    transcript = next(read(folder))
    extra = transcript.model_copy(update={"id": "late-arrival"})
    (folder / "conversations.jsonl").write_bytes(
        (folder / "conversations.jsonl").read_bytes().rsplit(b"\n", 1)[0] + b"\n"
    )
    append(folder / "more.jsonl", extra)
    assert catalog.refresh() == 1 and catalog.find("late-arrival") is not None
    stats = catalog.stats(catalog.snapshot())
    assert stats.conversations == 13 and stats.reasons["loop"] == 4


def test_pages_over_http_and_marks_reach_the_harvest(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    catalog = Catalog([folder])
    catalog.refresh()
    marks = tmp_path / "marks.jsonl"
    with ViewServer(Viewer(catalog, marks_path=marks, review=True)) as server:
        home = get(f"{server.url}/")
        assert home.count("class='conversation'") == 12 and "1 to 12 of 12" in home
        assert get(f"{server.url}/?reason=loop").count("class='conversation'") == 4
        loop_id = catalog.select(Filters(reason="loop"), {})[0].key
        page = get(f"{server.url}/c/{loop_id}")
        assert "guard loop · reask" in page and "rejected draft: Solution: the topic" in page
        assert "just keep going" in page and "Polygon.io" in page
        planned = get(f"{server.url}/c/{catalog.select(Filters(text='task 0 about'), {})[0].key}")
        assert "<svg id='graph'" in planned and "Find sources" in planned and "id='timeline'" in planned
        assert "Termination reasons" in get(f"{server.url}/stats")
        assert post(f"{server.url}/c/{loop_id}/mark", {"verdict": "keep", "note": "fine"}) == 200
        assert post(f"{server.url}/c/{loop_id}/mark", {"verdict": "maybe"}) == 400
        assert post(f"{server.url}/c/{loop_id}/mark", {"verdict": "drop"}, origin="http://evil.example") == 403
        assert post(f"{server.url}/c/nope/mark", {"verdict": "drop"}) == 404
        assert "marked" in get(f"{server.url}/c/{loop_id}")
    assert json.loads(marks.read_text().splitlines()[0])["verdict"] == "keep"
    out = tmp_path / "dataset"
    assert (
        main(
            [
                "harvest",
                "--judge",
                "lexical",
                str(folder),
                "--format",
                "openai",
                "--out",
                str(out),
                "--marks",
                str(marks),
            ]
        )
        == 0
    )
    rows = (out / "train.jsonl").read_text()
    topic = catalog.find(loop_id).title.split(" about ")[1]  # type: ignore[union-attr]
    assert f"the {topic} source" in rows  # a loop the floor drops, kept because a reviewer said so
    others = [e.title.split(" about ")[1] for e in catalog.select(Filters(reason="loop"), {}) if e.key != loop_id]
    assert not any(f"the {other} source" in rows for other in others)
    with ViewServer(Viewer(catalog, marks_path=marks)) as read_only:
        assert post(f"{read_only.url}/c/{loop_id}/mark", {"verdict": "drop"}) == 403
        assert "read-only" in get(f"{read_only.url}/c/{loop_id}")


def test_dataset_rows_are_listed_and_shown(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, conversations=3)
    out = tmp_path / "dataset"
    assert main(["harvest", "--judge", "lexical", str(folder), "--format", "sharegpt", "--out", str(out)]) == 0
    catalog = Catalog([out])
    catalog.refresh()
    rows = catalog.snapshot()
    assert rows and all(entry.kind == "row" for entry in rows)
    with ViewServer(Viewer(catalog)) as server:
        page = get(f"{server.url}/c/{rows[0].key}")
        assert "conversations" in page and "Polygon.io" in page


def test_the_command_serves_on_loopback_and_sees_a_batch_grow(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, conversations=3)
    process = subprocess.Popen(
        [sys.executable, "-m", "rolecall.cli", "view", str(folder), "--port", "0", "--review"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split("· ")[1].split(" ")[0]
        assert url.startswith("http://127.0.0.1:")
        before = json.loads(get(f"{url}/api/version"))
        append(folder / "conversations.jsonl", next(read(folder)).model_copy(update={"id": "new-one"}))
        deadline = time.monotonic() + 10
        while json.loads(get(f"{url}/api/version"))["entries"] == before["entries"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "new-one" in get(f"{url}/")
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reaped, its pipes closed
    assert process.returncode == 0


@pytest.mark.parametrize(("argv", "expected"), [(["view", "/no/such/dir"], "no such file"),
                                                (["view", ".", "--port", "70000"], "--port 70000")])  # fmt: skip
def test_bad_view_arguments_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_each_turn_shows_its_verdict_and_a_reviewer_marks_turns(tmp_path: Path) -> None:
    from rolecall.judges import LexicalJudge
    from rolecall.transcripts.marks import read_turns

    folder = make_folder(tmp_path, conversations=2)
    marks = tmp_path / "marks.jsonl"
    transcript = next(read(folder))
    catalog = Catalog([folder])
    catalog.refresh()
    with ViewServer(Viewer(catalog, marks_path=marks, review=True, judge=LexicalJudge())) as server:
        page = get(f"{server.url}/c/{transcript.id}")
        assert page.count("· lexical</span>") >= 2 and "value='on_task'" in page
        assert post(f"{server.url}/c/{transcript.id}/mark", {"verdict": "off_task", "message_index": "1"}) == 200
        assert post(f"{server.url}/c/{transcript.id}/mark", {"verdict": "keep", "message_index": "1"}) == 400
        assert "marked off task" in get(f"{server.url}/c/{transcript.id}")
    assert [(key, mark.verdict) for key, mark in read_turns(marks).items()] == [((transcript.id, 1), "off_task")]
    with ViewServer(Viewer(catalog)) as server:  # no judge: only the verdicts recorded with the transcript
        assert "· lexical</span>" not in get(f"{server.url}/c/{transcript.id}")
