"""rolecall: CAMEL-style multi-agent role-play with task graphs and transcripts built for training data.

The public surface is listed in ``__all__``; everything else is internal.
"""

from rolecall._version import __version__
from rolecall.agents import DONE_TOKEN, Agent, Assist, Executor, Instructor, Role, TaskSpecifier
from rolecall.conversation import Conversation, Limits
from rolecall.critic import Critic, CriticSettings
from rolecall.errors import (
    GraphError,
    LocalModelError,
    ModelError,
    ModelUnavailableError,
    RolecallError,
    RunError,
    SpecError,
)
from rolecall.guards import GuardSettings
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
from rolecall.pricing import Price, PriceTable
from rolecall.roleplay import RolePlay
from rolecall.society import Member, Society
from rolecall.spec import RolePlaySpec, load_spec
from rolecall.tasks import Subtask, TaskGraph
from rolecall.transcripts import Message, Transcript
from rolecall.turns import TurnSettings

__all__ = [
    "DONE_TOKEN",
    "Agent",
    "Assist",
    "ChatModel",
    "Completion",
    "Conversation",
    "Critic",
    "CriticSettings",
    "Endpoint",
    "Executor",
    "GenerationParams",
    "GraphError",
    "GuardSettings",
    "Instructor",
    "Limits",
    "LocalModelError",
    "LocalServer",
    "Member",
    "Message",
    "ModelError",
    "ModelUnavailableError",
    "OpenAIChatModel",
    "Price",
    "PriceTable",
    "Role",
    "RolePlay",
    "RolePlaySpec",
    "RolecallError",
    "RunError",
    "Society",
    "SpecError",
    "Subtask",
    "TaskGraph",
    "TaskSpecifier",
    "Transcript",
    "TurnSettings",
    "Usage",
    "__version__",
    "load_spec",
    "open_model",
    "resolve_endpoint",
]
