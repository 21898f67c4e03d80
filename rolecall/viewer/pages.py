"""The viewer's pages as HTML: the list, a conversation, a dataset row, the stats.

Plain server-rendered HTML with one stylesheet and a few lines of script (the new-data
banner and the marking form); every value from the data is escaped. The task graph is
drawn as SVG, one column per depth of dependency, coloured by status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from rolecall.errors import GraphError
from rolecall.judges.base import Verdict as JudgeVerdict
from rolecall.tasks.graph import TaskGraph
from rolecall.transcripts.marks import Mark
from rolecall.transcripts.record import HUMAN_MODEL, Event, Message, Transcript
from rolecall.transcripts.stats import CorpusStats, charts, svg_bars
from rolecall.viewer.catalog import Entry, Filters

PAGE_SIZE = 50
_STATUS_COLOURS = {
    "pending": "#adb5bd",
    "active": "#f59f00",
    "done": "#2f9e44",
    "failed": "#e03131",
    "skipped": "#868e96",
}

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#212529;background:#f8f9fa}
header{background:#212529;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:16px 20px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 8px;border-bottom:1px solid #dee2e6;
text-align:left;vertical-align:top}th{background:#e9ecef;font-weight:600}tr:hover td{background:#f1f3f5}
form.filters{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:12px;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#495057}
input,select,button{font:inherit;padding:3px 6px}.pill{display:inline-block;padding:0 6px;border-radius:9px;
font-size:12px;background:#e9ecef;margin:1px}.ok{background:#d3f9d8}.failed{background:#ffe3e3}
.keep{background:#d3f9d8}.drop{background:#ffe3e3}.msg{background:#fff;border:1px solid #dee2e6;
border-left:4px solid #4c6ef5;border-radius:4px;margin:8px 0;padding:8px 12px}.msg.user{border-left-color:#12b886}
.msg.tool{border-left-color:#868e96;margin-left:32px;font-size:13px}.msg.human{border-left-color:#f59f00}
.meta{color:#868e96;font-size:12px}.body{white-space:pre-wrap;margin-top:4px}.rejected{background:#fff5f5;
border:1px dashed #ffa8a8;padding:6px 10px;margin:4px 0 4px 32px;font-size:13px}.undone{opacity:.6}
.banner{background:#fff3bf;padding:6px 12px;margin-bottom:10px;display:none}.call{font-family:monospace}
.pager{margin:10px 0;display:flex;gap:12px}.facts td:first-child{color:#495057;width:160px}
"""

_WATCH = """
<script>
const seen = %d;
setInterval(async () => {
  const reply = await fetch('/api/version'); const now = (await reply.json()).version;
  if (now !== seen) { const b = document.getElementById('news'); b.style.display = 'block'; }
}, 1500);
</script>
"""


def page(title: str, body: str, *, version: int | None = None) -> str:
    """A whole page around ``body``; with ``version``, a banner appears when the data changes."""
    watch = _WATCH % version if version is not None else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)} · rolecall</title>"
        f"<style>{_STYLE}</style></head><body><header><a href='/'>rolecall view</a><a href='/stats'>stats</a>"
        f"</header><main><div class='banner' id='news'>New conversations have arrived. "
        f"<a href='javascript:location.reload()'>Show them</a></div>{body}</main>{watch}</body></html>"
    )


def _pill(text: str, cls: str = "") -> str:
    return f"<span class='pill {cls}'>{escape(text)}</span>"


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _select(name: str, value: str, options: Sequence[str]) -> str:
    choices = "".join(
        f"<option value='{escape(option)}'{' selected' if option == value else ''}>{escape(option) or 'any'}</option>"
        for option in ("", *options)
    )
    return f"<label>{name}<select name='{name}'>{choices}</select></label>"


def listing(
    entries: Sequence[Entry],
    *,
    total: int,
    start: int,
    filters: Filters,
    choices: dict[str, list[str]],
    marks: dict[str, str],
    version: int,
    query: dict[str, str],
    unreadable: int,
) -> str:
    """The list page: filters, one row per conversation or dataset row, paging."""
    form = (
        "<form class='filters' method='get' action='/'>"
        + _select("status", filters.status, choices["status"])
        + _select("reason", filters.reason, choices["reason"])
        + _select("model", filters.model, choices["model"])
        + f"<label>role<input name='role' value='{escape(filters.role)}' size='12'></label>"
        + _select("guard", filters.guard, ["any", *choices["guard"]])
        + f"<label>tool errors<input type='checkbox' name='tool_errors' value='1'"
        f"{' checked' if filters.tool_errors else ''}></label>"
        + f"<label>turns ≥<input name='min_turns' value='{_text(filters.min_turns)}' size='3'></label>"
        + f"<label>turns ≤<input name='max_turns' value='{_text(filters.max_turns)}' size='3'></label>"
        + _select("mark", filters.mark, ["keep", "drop", "none"])
        + f"<label>text<input name='q' value='{escape(filters.text)}' size='18'></label>"
        + "<button type='submit'>filter</button><a href='/'>clear</a></form>"
    )
    rows = []
    for entry in entries:
        mark = marks.get(entry.key)
        link = f"/c/{escape(entry.key)}"
        if entry.kind == "row":
            rows.append(
                f"<tr><td><a href='{link}'>row {entry.line}</a></td><td colspan='5'>{escape(entry.title)}</td></tr>"
            )
            continue
        guards = "".join(_pill(verdict) for verdict in sorted(set(entry.guards)))
        tools = _pill(f"{entry.tool_errors} tool errors", "failed") if entry.tool_errors else ""
        rows.append(
            f"<tr class='conversation'><td><a href='{link}'>{escape(entry.key)}</a>"
            f"{_pill(mark, mark) if mark else ''}{_pill('human') if entry.human else ''}</td>"
            f"<td>{escape(' / '.join(entry.roles))}</td><td>{escape(entry.title[:90])}</td>"
            f"<td>{_pill(entry.reason, entry.status)}</td><td>{entry.turns}</td>"
            f"<td>{escape(', '.join(entry.models))}{guards}{tools}</td></tr>"
        )
    head = "<tr><th>id</th><th>roles</th><th>task</th><th>ended</th><th>turns</th><th>models · verdicts</th></tr>"
    pager = []
    if start > 0:
        pager.append(f"<a href='/?{urlencode({**query, 'page': str(start // PAGE_SIZE - 1)})}'>← newer</a>")
    if start + PAGE_SIZE < total:
        pager.append(f"<a href='/?{urlencode({**query, 'page': str(start // PAGE_SIZE + 1)})}'>older →</a>")
    shown = f"{start + 1} to {start + len(entries)}" if entries else "0"
    summary = f"<p class='meta' id='count'>{shown} of {total} matching"
    summary += f" · {unreadable} unreadable lines skipped</p>" if unreadable else "</p>"
    return page(
        "conversations",
        form + summary + f"<table id='list'>{head}{''.join(rows)}</table><div class='pager'>{''.join(pager)}</div>",
        version=version,
    )


def _verdicts(rejected: Sequence[dict[str, Any]], critic: Sequence[dict[str, Any]]) -> str:
    """Guard verdicts (with the drafts they rejected) and critic choices about one turn of one speaker."""
    drafts = "".join(
        f"<div class='rejected'><div class='meta'>guard {escape(str(event.get('guard')))} · "
        f"{escape(str(event.get('action')))}: {escape(str(event.get('detail') or ''))}</div>"
        + (f"<div class='body'>rejected draft: {escape(str(event['rejected']))}</div>" if event.get("rejected") else "")
        + "</div>"
        for event in rejected
    )
    for event in critic:
        verdict = "approved" if event.get("approved") else f"choice {event.get('choice')}"
        if event.get("mode") == "review" and not event.get("approved"):
            verdict = f"revise: {event.get('feedback')}"
        drafts += f"<div class='rejected'><div class='meta'>critic ({escape(str(event.get('mode')))}): "
        drafts += f"{escape(str(verdict))}</div></div>"
    return drafts


def _judged(key: str, index: int, verdict: JudgeVerdict | None, marked: str | None, review: bool) -> str:
    """A turn's verdict (by a judge), its reviewer's mark, and in review the buttons that mark it."""
    parts = []
    if verdict is not None:
        said = "on task" if verdict.on_task else f"off task: {verdict.reason or '?'}"
        parts.append(_pill(f"{said} · {verdict.score:.2f} · {verdict.judge}", "keep" if verdict.on_task else "drop"))
    if marked:
        parts.append(_pill(f"marked {marked.replace('_', ' ')}", "keep" if marked == "on_task" else "drop"))
    if review:
        parts.append(
            f"<form method='post' action='/c/{escape(key)}/mark' class='turnmark'>"
            f"<input type='hidden' name='message_index' value='{index}'>"
            "<button name='verdict' value='on_task'>on task</button> "
            "<button name='verdict' value='off_task'>off task</button></form>"
        )
    return f"<div class='judged'>{''.join(parts)}</div>" if parts else ""


def _message(
    message: Message, rejected: Sequence[dict[str, Any]], critic: Sequence[dict[str, Any]], judged: str = ""
) -> str:
    if message.role == "tool":
        failed = f" · <b>failed</b>: {escape(message.error)}" if message.error else ""
        return (
            f"<div class='msg tool'><div class='meta'>← {escape(message.name or 'tool')} · "
            f"{message.latency_ms:.0f} ms{failed}</div><div class='body'>{escape(message.content)}</div></div>"
        )
    drafts = _verdicts(rejected, critic)
    facts = [f"turn {message.turn}", f"{message.usage.completion_tokens} tok", f"{message.latency_ms:.0f} ms"]
    if message.first_token_ms is not None:
        facts.append(f"first token {message.first_token_ms:.0f} ms")
    if message.reasks:
        facts.append(f"{message.reasks} re-asks")
    if message.retries:
        facts.append(f"{message.retries} retries")
    human = message.model == HUMAN_MODEL
    calls = "".join(
        f"<div class='call'>→ {escape(call.name)}({escape(call.arguments_text())})</div>"
        for call in message.tool_calls or ()
    )
    kind = f"{message.role}{' human' if human else ''}"
    return (
        f"{drafts}<div class='msg {kind}' id='m{message.index}'><div class='meta'><b>{escape(message.speaker)}</b>"
        f" · {escape(message.model or '')} · {' · '.join(facts)}</div>"
        f"<div class='body'>{escape(message.content)}</div>{calls}{judged}</div>"
    )


def graph_svg(graph: TaskGraph) -> str:
    """The task graph: a column per depth of dependency, an arrow per dependency, colour by status."""
    depth: dict[str, int] = {}
    for subtask in graph:
        depth[subtask.id] = 1 + max((depth.get(before, 0) for before in subtask.after), default=-1)
    columns: dict[int, list[str]] = {}
    for subtask_id, column in depth.items():
        columns.setdefault(column, []).append(subtask_id)
    place = {sid: (20 + 230 * col, 20 + 60 * row) for col, ids in columns.items() for row, sid in enumerate(ids)}
    width = 230 * len(columns) + 20
    height = 60 * max(len(ids) for ids in columns.values()) + 20
    parts = [
        f"<line x1='{place[before][0] + 190}' y1='{place[before][1] + 20}' x2='{place[s.id][0]}' "
        f"y2='{place[s.id][1] + 20}' stroke='#adb5bd' marker-end='url(#arrow)'/>"
        for s in graph
        for before in s.after
        if before in place
    ]
    for subtask in graph:
        x, y = place[subtask.id]
        colour = _STATUS_COLOURS.get(subtask.status, "#adb5bd")
        parts.append(
            f"<g class='node'><rect x='{x}' y='{y}' width='190' height='40' rx='6' fill='#fff' stroke='{colour}' "
            f"stroke-width='2'/><text x='{x + 8}' y='{y + 17}' font-size='12'>{escape(subtask.title[:28])}</text>"
            f"<text x='{x + 8}' y='{y + 32}' font-size='11' fill='{colour}'>{escape(subtask.status)} · "
            f"{subtask.turns} turns</text><title>{escape(subtask.title)}</title></g>"
        )
    arrow = (
        "<defs><marker id='arrow' markerWidth='8' markerHeight='8' refX='8' refY='4' orient='auto'>"
        "<path d='M0,0 L8,4 L0,8 z' fill='#adb5bd'/></marker></defs>"
    )
    return f"<svg id='graph' width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>{arrow}{''.join(parts)}</svg>"


def _timeline(events: Sequence[Event]) -> str:
    rows = [
        f"<tr><td>{event.turn}</td><td>{escape(str((event.model_extra or {}).get('task')))}</td>"
        f"<td>{escape(str((event.model_extra or {}).get('status')))}</td></tr>"
        for event in events
        if event.kind == "task_status"
    ]
    if not rows:
        return ""
    return f"<table id='timeline'><tr><th>turn</th><th>subtask</th><th>status</th></tr>{''.join(rows)}</table>"


def _mark_form(key: str, mark: Mark | None, review: bool) -> str:
    current = f"<p id='mark'>marked {_pill(mark.verdict, mark.verdict)} {escape(mark.note)}</p>" if mark else ""
    if not review:
        return current + "<p class='meta'>read-only: start with <code>--review</code> to mark conversations</p>"
    return current + (
        f"<form id='marking' method='post' action='/c/{escape(key)}/mark'>"
        "<input name='note' placeholder='note (optional)' size='50'> "
        "<button name='verdict' value='keep'>keep</button> <button name='verdict' value='drop'>drop</button></form>"
    )


def conversation(
    transcript: Transcript,
    *,
    source: str,
    mark: Mark | None,
    review: bool,
    verdicts: Mapping[int, JudgeVerdict] | None = None,
    turn_marks: Mapping[int, str] | None = None,
) -> str:
    """A conversation's page: facts, agents, the task graph and its timeline, every message (with its verdict and
    mark), the end."""
    verdicts, turn_marks = verdicts or {}, turn_marks or {}
    facts = [
        ("task", transcript.task.original),
        *([("specified", transcript.task.specified)] if transcript.task.specified else []),
        ("status", transcript.status),
        (
            "ended",
            f"{transcript.termination.reason} at turn {transcript.termination.turn}"
            if transcript.termination
            else "unfinished",
        ),
        *(
            [("detail", transcript.termination.detail)]
            if transcript.termination and transcript.termination.detail
            else []
        ),
        ("tokens", f"{transcript.usage.prompt_tokens} prompt + {transcript.usage.completion_tokens} completion"),
        ("source", source),
    ]
    for agent in transcript.agents:
        tools = f" · tools: {', '.join(tool.name for tool in agent.tools)}" if agent.tools else ""
        facts.append((agent.kind, f"{agent.name} ({agent.role}) · {agent.model or 'no model'}{tools}"))
    table = "".join(f"<tr><td>{escape(name)}</td><td>{escape(str(value))}</td></tr>" for name, value in facts)
    graph = ""
    if transcript.planned and transcript.task_graph:
        try:
            graph = f"<h2>Task graph</h2>{graph_svg(TaskGraph.from_node_link(transcript.task_graph))}"
        except GraphError as exc:
            graph = f"<p>task graph unreadable: {escape(str(exc))}</p>"
        graph += _timeline(transcript.events)
    rejected: dict[tuple[int, str], list[dict[str, Any]]] = {}
    critic: dict[tuple[int, str], list[dict[str, Any]]] = {}
    undone = []
    for event in transcript.events:
        extra = event.model_extra or {}
        key = (event.turn, str(extra.get("speaker")))
        if event.kind == "guard":
            rejected.setdefault(key, []).append(extra)
        elif event.kind == "critic":
            critic.setdefault(key, []).append(extra)
        elif event.kind == "undo":
            undone.append(extra)
    messages = []
    for message in transcript.messages:
        key = (message.turn, message.speaker)
        judged = ""
        if message.index in verdicts or message.index in turn_marks or (review and message.role != "tool"):
            judged = _judged(
                transcript.id, message.index, verdicts.get(message.index), turn_marks.get(message.index), review
            )
        messages.append(_message(message, rejected.pop(key, []), critic.pop(key, []), judged))
    for key in sorted(set(rejected) | set(critic)):  # verdicts on a turn that never got an accepted reply
        messages.append(f"<p class='meta'>turn {key[0]} · {escape(key[1])}, no reply accepted:</p>")
        messages.append(_verdicts(rejected.get(key, []), critic.get(key, [])))
    taken_back = "".join(
        f"<details class='undone'><summary>{len(extra.get('messages') or [])} messages taken back by "
        f"{escape(str(extra.get('speaker')))}</summary>"
        + "".join(f"<div class='body'>{escape(str(m.get('content')))}</div>" for m in extra.get("messages") or [])
        + "</details>"
        for extra in undone
    )
    body = (
        f"<h1>{escape(transcript.task.original[:120])}</h1>{_mark_form(transcript.id, mark, review)}"
        f"<table class='facts'>{table}</table>{graph}<h2>Messages</h2>{''.join(messages)}{taken_back}"
    )
    return page(transcript.id, body)


def row(data: dict[str, Any], *, source: str) -> str:
    """A dataset row: each list of turns as messages, other fields as they are."""
    parts = [f"<p class='meta'>{escape(source)}</p>"]
    for key, value in data.items():
        turns = value if isinstance(value, list) and all(isinstance(turn, dict) for turn in value) else None
        if turns:
            parts.append(f"<h2>{escape(key)}</h2>")
            for turn in turns:
                role = str(turn.get("role", turn.get("from", "")))
                content = turn.get("content", turn.get("value", ""))
                text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=1)
                kind = "user" if role in ("user", "human") else "tool" if role in ("tool", "observation") else ""
                parts.append(f"<div class='msg {kind}'><div class='meta'><b>{escape(role)}</b></div>")
                parts.append(f"<div class='body'>{escape(text)}</div></div>")
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"<h2>{escape(key)}</h2><div class='body'>{escape(shown)}</div>")
    return page("row", "".join(parts))


def stats_page(stats: CorpusStats, *, version: int) -> str:
    """The charts of ``rolecall stats`` as pictures."""
    sections = "".join(f"<h2>{escape(title)}</h2>{svg_bars(rows)}" for title, rows in charts(stats))
    head = f"<h1>{stats.conversations} conversations</h1><p class='meta'>{stats.failed} failed</p>"
    return page("stats", head + sections, version=version)


def not_found(what: str) -> str:
    return page("not found", f"<h1>Not found</h1><p>{escape(what)}</p>")
