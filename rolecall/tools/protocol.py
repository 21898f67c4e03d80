"""How tools reach a model and how its calls come back, on either route.

* ``native``: OpenAI function calling. The request carries ``tools`` and ``tool_choice``; the
  reply's ``tool_calls`` are the calls; results go back as ``tool`` messages.
* ``json``: for endpoints without function calling (the embedded model among them). The turn
  is decoded under a JSON Schema offering either the agent's answer or one call
  (``{"tool": NAME, "arguments": {...}}`` with that tool's own argument schema), so even a
  135M model writes well-formed calls; results go back as user lines.

Either way the transcript records the same thing: a message with ``tool_calls``, then one
``tool`` message per result. :class:`ToolOffer` is what one draft is offered;
:func:`chat_message` renders a recorded call or result into an agent's view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams, ToolCall
from rolecall.prompts import prompt
from rolecall.transcripts.perspective import Said

Route = Literal["native", "json"]
#: The answer of a JSON-route turn for an agent that has no JSON turn schema of its own.
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reply": {"type": "string"}},
    "required": ["reply"],
}


def route_for(model: ChatModel | None, protocol: Literal["auto", "native", "json"]) -> Route:
    """The route tools take to ``model``: as ``protocol`` says, or by whether the endpoint does function calling."""
    if protocol != "auto":
        return protocol
    return "native" if model is None or model.function_calling else "json"


@dataclass(frozen=True)
class ToolOffer:
    """The tools one draft is offered: their OpenAI specs, the route, and whether a call is still allowed."""

    specs: tuple[dict[str, Any], ...]
    route: Route
    may_call: bool = True

    @property
    def note(self) -> str:
        """What the agent's system prompt adds for these tools on this route."""
        return system_note(list(self.specs), self.route)

    def prompt_record(self) -> dict[str, str]:
        """The note as a transcript keeps it, with the native one a dataset that writes calls natively uses."""
        return {"route": self.route, "note": self.note, "native": system_note(list(self.specs), "native")}

    def params(self, params: GenerationParams) -> GenerationParams:
        """``params`` with the tools offered: as ``tools`` (native) or as a JSON Schema of answer-or-call (json)."""
        if self.route == "native":
            offered = GenerationParams(tools=list(self.specs), tool_choice="auto" if self.may_call else "none")
            return params.merged(offered)
        if not self.may_call:
            return params
        answer = params.json_schema or REPLY_SCHEMA
        calls = [
            {
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": [spec["function"]["name"]]},
                    "arguments": spec["function"]["parameters"],
                },
                "required": ["tool", "arguments"],
            }
            for spec in self.specs
        ]
        return params.merged(GenerationParams(json_schema={"anyOf": [answer, *calls]}, stop=None))

    def read(self, completion: Completion, params: GenerationParams) -> Completion:
        """The draft with its calls in ``tool_calls`` (json route: read from the text), or its answer unwrapped."""
        if self.route == "native":
            return completion if self.may_call else completion.model_copy(update={"tool_calls": []})
        if not self.may_call:
            return completion
        try:
            data = json.loads(completion.text, strict=False)
        except (ValueError, RecursionError):
            return completion  # cut short: the agent's own reading of partial JSON takes over
        if not isinstance(data, dict):
            return completion
        if isinstance(data.get("tool"), str):
            arguments = data.get("arguments", {})
            if not isinstance(arguments, dict):
                arguments = json.dumps(arguments)
            call = ToolCall(id="", name=data["tool"], arguments=arguments)
            return completion.model_copy(update={"text": "", "tool_calls": [call]})
        if params.json_schema is None and set(data) == {"reply"}:
            return completion.model_copy(update={"text": str(data["reply"])})
        return completion


def system_note(specs: list[dict[str, Any]], route: Route) -> str:
    """What the system prompt adds for an agent with tools: their names (native), or how to call them (json)."""
    functions = [spec["function"] for spec in specs]
    if route == "native":
        return prompt("native", {"names": ", ".join(f["name"] for f in functions)}, group="tools")
    listing = "\n".join(f"- {f['name']}({_signature(f['parameters'])}): {f['description']}" for f in functions)
    first = functions[0]
    example = json.dumps({"tool": first["name"], "arguments": _example(first["parameters"])})
    return prompt("json", {"listing": listing, "example": example}, group="tools")


def _signature(schema: dict[str, Any]) -> str:
    properties = schema.get("properties") or {}
    return ", ".join(f"{name}: {field.get('type', 'any')}" for name, field in properties.items())


def _example(schema: dict[str, Any]) -> dict[str, Any]:
    examples = {"expression": "12 * 4.5", "code": "print(sum(range(10)))", "action": "read"}
    properties = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    return {name: examples.get(name, "...") for name in required}


def chat_message(line: Said, route: Route) -> ChatMessage:
    """A recorded call (``line.calls``) or result (``line.call_id``) as the agent's model is shown it."""
    if line.call_id is not None:
        if route == "native":
            return {"role": "tool", "tool_call_id": line.call_id, "content": line.content}
        key = "failed" if line.failed else "result"
        return {"role": "user", "content": prompt(key, {"name": line.tool, "content": line.content}, group="tools")}
    if route == "native":
        return {"role": "assistant", "content": line.content, "tool_calls": [call.wire() for call in line.calls]}
    shown = [json.dumps({"tool": call.name, "arguments": call.arguments}, ensure_ascii=False) for call in line.calls]
    return {"role": "assistant", "content": "\n".join([line.content, *shown]).strip()}
