"""rolecall: CAMEL-style multi-agent role-play with task graphs and transcripts built for training data.

The public surface is listed in ``__all__``; everything else is internal.
"""

from rolecall._version import __version__
from rolecall.agents import Agent, Executor, Instructor, Role, Said, TaskSpecifier
from rolecall.agents.critic import Critic
from rolecall.agents.members import Member
from rolecall.dialogue import Conversation, RolePlay, Society
from rolecall.errors import (
    BudgetExhausted,
    GraphError,
    LocalModelError,
    ModelError,
    ModelUnavailableError,
    RolecallError,
    RunError,
    SpecError,
)
from rolecall.guards import Guard, Turn, Verdict, register_guard, registered_guards
from rolecall.models import (
    ChatMessage,
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
from rolecall.models.pricing import Price, PriceTable
from rolecall.settings import Assist, CriticSettings, GuardSettings, Settings, ToolSettings
from rolecall.spec import RolePlaySpec, SocietySpec, load_spec
from rolecall.tasks import Subtask, TaskGraph
from rolecall.tools import Tool, ToolError, tool
from rolecall.transcripts import Message, Transcript
from rolecall.transcripts.record import DONE_TOKEN
from rolecall.turns import TurnSettings

__all__ = [
    "DONE_TOKEN",
    "Agent",
    "Assist",
    "BudgetExhausted",
    "ChatMessage",
    "ChatModel",
    "Completion",
    "Conversation",
    "Critic",
    "CriticSettings",
    "Endpoint",
    "Executor",
    "GenerationParams",
    "GraphError",
    "Guard",
    "GuardSettings",
    "Instructor",
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
    "Said",
    "Settings",
    "Society",
    "SocietySpec",
    "SpecError",
    "Subtask",
    "TaskGraph",
    "TaskSpecifier",
    "Tool",
    "ToolError",
    "ToolSettings",
    "Transcript",
    "Turn",
    "TurnSettings",
    "Usage",
    "Verdict",
    "__version__",
    "load_spec",
    "open_model",
    "register_guard",
    "registered_guards",
    "resolve_endpoint",
    "tool",
]
