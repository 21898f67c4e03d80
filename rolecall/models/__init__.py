"""The model layer: one interface, one OpenAI-compatible client, the embedded default."""

from rolecall.models.base import ChatMessage, ChatModel, Completion, GenerationParams, Usage
from rolecall.models.endpoint import Endpoint, open_model, resolve_endpoint
from rolecall.models.local import LOCAL_MODEL_NAME, LocalServer
from rolecall.models.openai_compat import OpenAIChatModel

__all__ = [
    "LOCAL_MODEL_NAME",
    "ChatMessage",
    "ChatModel",
    "Completion",
    "Endpoint",
    "GenerationParams",
    "LocalServer",
    "OpenAIChatModel",
    "Usage",
    "open_model",
    "resolve_endpoint",
]
