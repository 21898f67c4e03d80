"""A stand-in for llama.cpp's server: it answers as ``llama-server`` does, and dies the way a native bug does.

Run as ``python fake_llama_server.py LLAMA_SERVER_ARGS...`` (tests wrap it in a script that
``LocalServer(binary=...)`` or ``ROLECALL_LLAMA_SERVER`` runs). ``FAKE_LLAMA_CRASH`` says when it
dies with SIGSEGV, as llama.cpp did inside ``llama_decode`` on AMX machines:

* ``layouts``: on every chat completion, unless started with ``--no-repack``;
* ``always``: on every chat completion;
* ``after:N``: after answering N chat completions (the startup probe is the first).

Replies follow rolecall's plain-text protocol by the system prompt (an instruction, then the
done token after two; a solution otherwise).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = sys.argv[1:]
PORT = int(ARGS[ARGS.index("--port") + 1])
CRASH = os.environ.get("FAKE_LLAMA_CRASH", "")
ANSWERED = [0]  # chat completions answered so far


def crash() -> None:
    print("llama_decode: decoding a batch of 17 tokens", file=sys.stderr, flush=True)
    print("ggml_backend_amx_mul_mat: the fake native bug", file=sys.stderr, flush=True)
    ctypes.string_at(0)  # a real segmentation fault, in this thread, before any reply goes out


def reply(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    system = str(messages[0]["content"]) if messages else ""
    turns = sum(1 for message in messages if message["role"] == "assistant")
    if "who carries out your instructions" in system:
        return "<TASK_DONE>" if turns >= 2 else f"Instruction: step {turns + 1}\nInput: None"
    return f"Solution: did step {turns + 1}.\nNext request."


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        print(f"srv  log: {format % args}", file=sys.stderr, flush=True)

    def send(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.send({"status": "ok"} if self.path == "/health" else {"data": [{"id": "fake"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if CRASH == "always" or (CRASH == "layouts" and "--no-repack" not in ARGS):
            crash()
        if CRASH.startswith("after:") and ANSWERED[0] >= int(CRASH.split(":")[1]):
            crash()
        ANSWERED[0] += 1
        text = reply(body)
        self.send({
            "id": f"chatcmpl-{ANSWERED[0]}", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": len(text.split())},
        })  # fmt: skip


print(f"main: fake llama-server listening on 127.0.0.1:{PORT}", file=sys.stderr, flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
