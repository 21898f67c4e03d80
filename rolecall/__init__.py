"""rolecall: CAMEL-style multi-agent role-play with task graphs and transcripts built for training data.

The public surface is listed in ``__all__``; everything else is internal.
"""

from rolecall._version import __version__
from rolecall.agents import DONE_TOKEN, Agent, Executor, Instructor, Role, TaskSpecifier
from rolecall.errors import (
    GraphError,
    LocalModelError,
    ModelError,
    ModelUnavailableError,
    RolecallError,
    RunError,
    SpecError,
)
from rolecall.models import (
    ChatModel,
    Completion,
    Endpoint,
    GenerationParams,
    LocalServer,
    OpenAIChatModel,
    Usage,
    open_model,
    resolve_endpoint,
)
from rolecall.roleplay import RolePlay
from rolecall.spec import RolePlaySpec, load_spec
from rolecall.tasks import Subtask, TaskGraph
from rolecall.transcripts import Message, Transcript

__all__ = [
    "DONE_TOKEN",
    "Agent",
    "ChatModel",
    "Completion",
    "Endpoint",
    "Executor",
    "GenerationParams",
    "GraphError",
    "Instructor",
    "LocalModelError",
    "LocalServer",
    "Message",
    "ModelError",
    "ModelUnavailableError",
    "OpenAIChatModel",
    "Role",
    "RolePlay",
    "RolePlaySpec",
    "RolecallError",
    "RunError",
    "SpecError",
    "Subtask",
    "TaskGraph",
    "TaskSpecifier",
    "Transcript",
    "Usage",
    "__version__",
    "load_spec",
    "open_model",
    "resolve_endpoint",
]
