"""The viewer as a person uses it, in a real headless Chromium: list, filter, open, mark, harvest.

Chromium comes from Debian's ``chromium`` package (``make install`` installs it) and is driven
by Playwright's Python API through its ``executable_path``; no browser is downloaded. With
``ROLECALL_SCREENSHOTS=DIR`` the test also saves the screenshots that ``docs/`` shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_data import make_folder

from rolecall.cli import main
from rolecall.viewer import Catalog, Viewer, ViewServer

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: make install")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("no chromium on PATH: `make install` installs Debian's chromium package")
    return found


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """The batch folder, and a conversation that lands while the list is open (made before the browser
    starts: Playwright's sync API runs an event loop of its own)."""
    late = make_folder(tmp_path / "late", conversations=1) / "conversations.jsonl"
    return make_folder(tmp_path), late


@pytest.fixture
def browser() -> Iterator[playwright.Browser]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def test_a_reviewer_filters_opens_marks_and_the_harvest_honours_it(
    tmp_path: Path, folders: tuple[Path, Path], browser: playwright.Browser
) -> None:
    folder, late = folders
    marks = tmp_path / "marks.jsonl"
    catalog = Catalog([folder])
    catalog.refresh()
    shots = Path(os.environ["ROLECALL_SCREENSHOTS"]) if os.environ.get("ROLECALL_SCREENSHOTS") else None
    with ViewServer(Viewer(catalog, marks_path=marks, review=True), refresh_seconds=0.2) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server.url}/")
        assert page.locator("tr.conversation").count() == 12
        if shots:
            page.screenshot(path=str(shots / "viewer-list.png"))

        page.select_option("select[name=reason]", "loop")
        page.click("button[type=submit]")
        page.wait_for_url("**/?*reason=loop*")
        rows = page.locator("tr.conversation")
        assert rows.count() == 4
        assert all(text == "loop" for text in page.locator("tr.conversation td:nth-child(4)").all_inner_texts())

        rows.first.locator("a").first.click()
        page.wait_for_url("**/c/*")
        conversation_id = page.url.rsplit("/", 1)[1]
        assert page.locator(".msg").count() == 3
        assert "guard loop" in page.inner_text("main")
        page.fill("#marking input[name=note]", "a loop, but the first answer is right")
        page.click("#marking button[value=keep]")
        page.wait_for_selector("#mark")
        assert "keep" in page.inner_text("#mark")

        page.goto(f"{server.url}/?mark=keep")
        assert page.locator("tr.conversation").count() == 1
        page.goto(f"{server.url}/?q=task+0+about")
        page.locator("tr.conversation a").first.click()
        page.wait_for_selector("#graph")
        assert page.locator("#graph g.node").count() == 2
        if shots:
            page.screenshot(path=str(shots / "viewer-conversation.png"), full_page=True)

        # a batch still running: a new conversation lands and the open list says so
        page.goto(f"{server.url}/")
        (folder / "late.jsonl").write_bytes(late.read_bytes())
        page.wait_for_selector("#news", state="visible", timeout=10_000)

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
    kept_loop = catalog.find(conversation_id)
    assert kept_loop is not None
    topic = kept_loop.title.split(" about ")[1]
    assert f"the {topic} source" in (out / "train.jsonl").read_text()
