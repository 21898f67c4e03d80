"""``rolecall view``: a local web app over transcripts and datasets, read-only unless asked.

A threaded HTTP server from the standard library serves the pages of
:mod:`rolecall.viewer.pages` from a :class:`~rolecall.viewer.catalog.Catalog`, which a
background thread refreshes every second (a running batch's new conversations appear).
It listens on loopback by default. Each turn shows its verdict: a judge's when the viewer has
one (``rolecall view --judge NAME``), else those the transcript recorded. With ``review`` on,
a reviewer's marks (keep/drop a conversation, on/off task a turn) are appended to a marks
file beside the data, never to the files it reads; a mark must come from the viewer's own
page (same origin).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from rolecall.errors import SpecError
from rolecall.judges.base import Judge
from rolecall.judges.base import Verdict as JudgeVerdict
from rolecall.judges.recorded import read_transcripts, recorded_verdicts
from rolecall.transcripts import marks as marks_file
from rolecall.transcripts.marks import Mark
from rolecall.transcripts.record import Transcript
from rolecall.viewer import pages
from rolecall.viewer.catalog import Catalog, Filters

log = logging.getLogger(__name__)

#: Pages load nothing from elsewhere; their one stylesheet and script are inline.
_POLICY = "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
#: Largest form a mark may post (a note of a few thousand characters).
_MAX_FORM_BYTES = 16_384


@dataclass
class Viewer:
    """The state behind the pages: the catalogue, the marks, and whether marking is allowed."""

    catalog: Catalog
    marks_path: Path | None = None  # where marks are read from and (in review) written to
    review: bool = False
    marks: dict[str, Mark] = field(default_factory=dict)
    turn_marks: dict[tuple[str, int], Mark] = field(default_factory=dict)
    #: The judge whose verdict each turn shows (verdicts recorded with a transcript are shown without one).
    judge: Judge | None = None

    def __post_init__(self) -> None:
        if self.marks_path is not None and self.marks_path.exists():
            self.marks = marks_file.read(self.marks_path)
            self.turn_marks = marks_file.read_turns(self.marks_path)
        self._lock = threading.Lock()  # one judge, many page requests

    def turn_verdicts(self, transcript: Transcript) -> dict[int, JudgeVerdict]:
        """Each turn's verdict: the judge's (recorded ones read back), else those the transcript recorded."""
        if self.judge is None:
            return recorded_verdicts(transcript.events)
        with self._lock:
            return asyncio.run(read_transcripts(self.judge, [transcript]))[0]

    def verdicts(self) -> dict[str, str]:
        return {key: mark.verdict for key, mark in self.marks.items()}

    def mark(self, key: str, verdict: str, note: str, message_index: int | None = None) -> Mark:
        if not self.review or self.marks_path is None:
            raise PermissionError("read-only: start rolecall view with --review to mark conversations")
        fields: dict[str, Any] = {"id": key, "verdict": verdict, "note": note.strip(), "message_index": message_index}
        mark = Mark(**fields)  # a verdict that does not fit a conversation or a turn is a SpecError
        marks_file.add(self.marks_path, mark)
        if message_index is None:
            self.marks[key] = mark
        else:
            self.turn_marks[key, message_index] = mark
        return mark


def _filters(query: dict[str, str]) -> Filters:
    def number(name: str) -> int | None:
        value = query.get(name, "").strip()
        return int(value) if value.isdigit() else None

    return Filters(
        status=query.get("status", ""), reason=query.get("reason", ""), model=query.get("model", ""),
        role=query.get("role", "").strip(), guard=query.get("guard", ""), tool_errors=query.get("tool_errors") == "1",
        min_turns=number("min_turns"), max_turns=number("max_turns"), text=query.get("q", "").strip(),
        mark=query.get("mark", ""),
    )  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    viewer: Viewer  # set on the subclass made per server
    server_version = "rolecall-view"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("view: " + format, *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        routes: dict[str, Callable[[], tuple[int, str, str]]] = {
            "/": lambda: self._listing(query),
            "/stats": self._stats,
            "/api/version": self._version,
        }
        if url.path in routes:
            self._send(*routes[url.path]())
        elif url.path.startswith("/c/"):
            self._send(*self._conversation(unquote(url.path[3:])))
        else:
            self._send(HTTPStatus.NOT_FOUND, pages.not_found(url.path), "text/html")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if not (url.path.startswith("/c/") and url.path.endswith("/mark")):
            self._send(HTTPStatus.NOT_FOUND, pages.not_found(url.path), "text/html")
            return
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get("Host"):
            self._send(HTTPStatus.FORBIDDEN, "marks come from the viewer's own pages", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_FORM_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large", "text/plain")
            return
        form = {key: values[-1] for key, values in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
        key = unquote(url.path[3 : -len("/mark")])
        if self.viewer.catalog.find(key) is None:
            self._send(HTTPStatus.NOT_FOUND, pages.not_found(key), "text/html")
            return
        index = form.get("message_index", "")
        try:
            self.viewer.mark(
                key, form.get("verdict", ""), form.get("note", ""), int(index) if index.isdigit() else None
            )
        except PermissionError as exc:
            self._send(HTTPStatus.FORBIDDEN, str(exc), "text/plain")
            return
        except SpecError as exc:
            self._send(HTTPStatus.BAD_REQUEST, str(exc), "text/plain")
            return
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/c/{key}" + (f"#m{index}" if index.isdigit() else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _listing(self, query: dict[str, str]) -> tuple[int, str, str]:
        catalog, verdicts = self.viewer.catalog, self.viewer.verdicts()
        chosen = catalog.select(_filters(query), verdicts)
        page_number = int(query["page"]) if query.get("page", "").isdigit() else 0
        start = min(page_number, max(0, (len(chosen) - 1) // pages.PAGE_SIZE)) * pages.PAGE_SIZE
        everything = catalog.snapshot()
        choices = {
            "status": sorted({entry.status for entry in everything if entry.status}),
            "reason": sorted({entry.reason for entry in everything if entry.reason}),
            "model": sorted({model for entry in everything for model in entry.models}),
            "guard": sorted({verdict.split(":")[0] for entry in everything for verdict in entry.guards}),
        }
        kept = {key: value for key, value in query.items() if key != "page" and value}
        html = pages.listing(
            chosen[start : start + pages.PAGE_SIZE], total=len(chosen), start=start, filters=_filters(query),
            choices=choices, marks=verdicts, version=catalog.version, query=kept, unreadable=catalog.unreadable,
        )  # fmt: skip
        return HTTPStatus.OK, html, "text/html"

    def _conversation(self, key: str) -> tuple[int, str, str]:
        catalog = self.viewer.catalog
        entry = catalog.find(key)
        if entry is None:
            return HTTPStatus.NOT_FOUND, pages.not_found(f"no conversation {key!r}"), "text/html"
        try:
            loaded = catalog.load(entry)
        except (OSError, ValueError) as exc:
            return HTTPStatus.GONE, pages.not_found(f"{catalog.source(entry)} changed: {exc}"), "text/html"
        if isinstance(loaded, Transcript):
            turn_marks = {index: mark.verdict for (id, index), mark in self.viewer.turn_marks.items() if id == key}
            html = pages.conversation(
                loaded, source=catalog.source(entry), mark=self.viewer.marks.get(key), review=self.viewer.review,
                verdicts=self.viewer.turn_verdicts(loaded), turn_marks=turn_marks,
            )  # fmt: skip
        else:
            html = pages.row(loaded, source=catalog.source(entry))
        return HTTPStatus.OK, html, "text/html"

    def _stats(self) -> tuple[int, str, str]:
        catalog = self.viewer.catalog
        return HTTPStatus.OK, pages.stats_page(catalog.stats(catalog.snapshot()), version=catalog.version), "text/html"

    def _version(self) -> tuple[int, str, str]:
        catalog = self.viewer.catalog
        body = json.dumps({"version": catalog.version, "entries": len(catalog.entries)})
        return HTTPStatus.OK, body, "application/json"

    def _send(self, status: int, body: str, kind: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
        )
        self.end_headers()
        self.wfile.write(data)


class ViewServer:
    """The viewer's HTTP server and its refresher thread; a context manager, or :meth:`serve_forever`."""

    def __init__(self, viewer: Viewer, *, host: str = "127.0.0.1", port: int = 0, refresh_seconds: float = 1.0) -> None:
        self.viewer = viewer
        handler = type("Handler", (_Handler,), {"viewer": viewer})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.refresh_seconds = refresh_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _refresh(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.viewer.catalog.refresh()
            except Exception:  # a file vanishing mid-read: try again next time
                log.debug("view: refresh failed", exc_info=True)

    def start(self) -> ViewServer:
        for target in (self.httpd.serve_forever, self._refresh):
            thread = threading.Thread(target=target, name="rolecall-view", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> ViewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
