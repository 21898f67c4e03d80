"""Agent: a role, a system prompt, a model, and the view of the conversation it answers.

An agent is extended by overriding one method, :meth:`Agent.respond`, which turns the chat
messages the agent sees and the turn's sampling parameters into a :class:`Completion`. Two
small hooks shape the rest: :meth:`Agent.build_system_prompt` (called lazily, on first use,
so a subclass's own attributes are set by then) and :meth:`Agent.postprocess`.

The constructor contract: conversations create agents with keyword arguments only (which
ones each class takes is in its signature), so a subclass that adds its own must accept
and pass on the rest: ``def __init__(self, *args, mine=1, **options): super().__init__(*args,
**options)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field

from rolecall._checked import Checked
from rolecall.agents.context import TokenEstimator, fit
from rolecall.agents.json_turns import without_done
from rolecall.errors import SpecError
from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams
from rolecall.prompts import render
from rolecall.tools.protocol import ToolOffer, chat_message
from rolecall.transcripts.perspective import Said

DEFAULT_CONTEXT_TOKENS = 8192
DEFAULT_REPLY_TOKENS = 512


class Role(Checked):
    """Who an agent plays: a name such as "Stock Trader" and an optional description."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    name: str = Field(min_length=1)
    description: str | None = None

    @classmethod
    def of(cls, role: str | Role) -> Role:
        """``role`` as a Role; a blank name is a ``SpecError``."""
        if isinstance(role, Role):
            return role
        if not isinstance(role, str) or not role.strip():
            raise SpecError(f"role: give a non-blank name, got {role!r}")
        return cls(name=role.strip())


class Agent:
    """A participant in a conversation.

    Subclass and override :meth:`respond` for custom behaviour (a tool call, a rule-based
    reply, a different model per turn); the conversation loop only ever calls :meth:`step`.
    """

    #: What the agent does in a conversation, recorded in transcripts ("user", "assistant", ...).
    kind: str = "agent"
    #: Whether a person writes this agent's replies (:class:`~rolecall.agents.human.HumanAgent`).
    human: bool = False
    #: The part of the system prompt that asks for JSON turns, when it does: recorded, so a dataset of the
    #: rendered plain-text turns can leave out an instruction its turns do not follow.
    json_note: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, at class definition, a ``respond`` override that cannot take the turn's parameters."""
        super().__init_subclass__(**kwargs)
        respond = cls.__dict__.get("respond")
        if respond is None:
            return
        try:
            inspect.signature(respond).bind(None, [], GenerationParams())
        except TypeError:
            raise TypeError(
                f"{cls.__qualname__}.respond must accept (self, messages, params): the turn's sampling "
                "parameters (JSON schema, stop sequences, seed) arrive as `params`; pass them on with "
                "`await super().respond(messages, params)` or `self.model.complete(messages, params=params)`"
            ) from None

    def __init__(
        self,
        role: str | Role,
        *,
        model: ChatModel | None = None,
        name: str | None = None,
        template: str | None = None,
        prompt_values: Mapping[str, Any] | None = None,
        params: GenerationParams | None = None,
        context_tokens: int | None = None,
    ) -> None:
        self.role = Role.of(role)
        self.name = name or self.role.name
        self.model = model
        self.template = template
        self.prompt_values = dict(prompt_values or {})
        self.params = params or GenerationParams()
        self.context_tokens = context_tokens
        self.estimator = TokenEstimator()
        self._system_prompt: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @property
    def system_prompt(self) -> str:
        """The system prompt: :meth:`build_system_prompt`'s answer, asked for once, on first use."""
        if self._system_prompt is None:
            self._system_prompt = self.build_system_prompt()
        return self._system_prompt

    @system_prompt.setter
    def system_prompt(self, text: str) -> None:
        self._system_prompt = text

    # -- hooks ----------------------------------------------------------------------------

    def build_system_prompt(self) -> str:
        """The system prompt, rendered on first use (after every constructor ran). Override to change it."""
        if self.template is None:
            description = f" {self.role.description}" if self.role.description else ""
            return f"You are {self.role.name}.{description}"
        return render(self.template, {"role": self.role.name, **self.prompt_values})

    def postprocess(self, text: str) -> str:
        """Clean a reply before it enters the conversation. The default strips whitespace."""
        return text.strip()

    def reask_params(self, guard: str) -> GenerationParams | None:
        """What a re-ask after guard ``guard`` objected changes in this agent's sampling.

        After a premature done token, an agent whose JSON turns can say ``task_done`` is asked
        again under a schema that cannot; otherwise nothing changes.
        """
        schema = self.params.json_schema
        if guard == "premature_done" and schema is not None and "task_done" in schema.get("properties", {}):
            return GenerationParams(json_schema=without_done(schema))
        return None

    async def respond(self, messages: list[ChatMessage], params: GenerationParams) -> Completion:
        """Answer ``messages`` (system prompt first, fitted to the context window) under ``params``.

        This is the method to override. ``params`` are this turn's sampling parameters (the
        agent's own merged with the turn's: JSON schema, stop sequences, seed); the default
        asks the agent's model with them. An override may call other code, several models,
        or none; when it calls a model, it passes ``params`` on.
        """
        if self.model is None:
            raise SpecError(f"{self!r} has no model: pass model=... or override respond()")
        return await self.model.complete(messages, params=params)

    # -- the turn -------------------------------------------------------------------------

    def view(
        self, conversation: Iterable[Said], *, params: GenerationParams | None = None, tools: ToolOffer | None = None
    ) -> list[ChatMessage]:
        """The chat messages this agent sees: its own lines as assistant, the rest as user.

        Consecutive lines from the other side are joined so roles alternate, as chat
        templates expect. The agent's tool calls and their results are shown as the route
        of ``tools`` carries them (as text when no tools are offered).
        """
        messages: list[ChatMessage] = [{"role": "system", "content": self.system_prompt}]
        joinable = False
        for line in conversation:
            if line.calls or line.call_id is not None:
                messages.append(chat_message(line, tools.route if tools is not None else "json"))
                joinable = False
                continue
            role: Literal["user", "assistant"] = "assistant" if line.speaker == self.name else "user"
            if joinable and messages[-1]["role"] == role:
                messages[-1] = {"role": role, "content": f"{messages[-1]['content']}\n\n{line.content}"}
            else:
                messages.append({"role": role, "content": line.content})
            joinable = True
        return fit(messages, self._prompt_budget(params), self.estimator)

    def _prompt_budget(self, params: GenerationParams | None = None) -> int:
        window = self.context_tokens or getattr(self.model, "context_window", None) or DEFAULT_CONTEXT_TOKENS
        return max(256, window - ((params or self.params).max_tokens or DEFAULT_REPLY_TOKENS))

    async def step(
        self, conversation: Sequence[Said], *, params: GenerationParams | None = None, tools: ToolOffer | None = None
    ) -> Completion:
        """Take one turn: build the view, respond, post-process, learn the token rate.

        ``params`` adds to the agent's sampling parameters for this call only; :meth:`respond`
        receives the merged set explicitly, with the ``tools`` offered (if any) in it. A reply
        that calls tools comes back with its ``tool_calls`` and is not post-processed.
        """
        own_params = self.params.merged(params)
        turn_params = tools.params(own_params) if tools is not None else own_params
        messages = self.view(conversation, params=turn_params, tools=tools)
        completion = await self.respond(messages, turn_params)
        if completion.usage.prompt_tokens:
            self.estimator.observe(messages, completion.usage.prompt_tokens)
        if tools is not None:
            completion = tools.read(completion, own_params)
        if completion.tool_calls:
            return completion
        return completion.model_copy(update={"text": self.postprocess(completion.text)})

    def describe(self) -> dict[str, Any]:
        """The agent as a transcript records it."""
        return {
            "name": self.name,
            "role": self.role.name,
            "kind": self.kind,
            "system_prompt": self.system_prompt,
            "model": self.model.name if self.model else None,
            "params": self.params.model_dump(exclude_none=True, exclude_defaults=True),
            **({"json_note": self.json_note} if self.json_note and self.json_note in self.system_prompt else {}),
        }
