"""Contains all the data models used in inputs/outputs"""

from .create_session_request import CreateSessionRequest
from .create_session_request_message_data import CreateSessionRequestMessageData
from .create_session_request_message_data_template import (
    CreateSessionRequestMessageDataTemplate,
)
from .expire_result import ExpireResult
from .health import Health
from .health_status import HealthStatus
from .json_object import JsonObject
from .message import Message
from .message_page import MessagePage
from .message_response_schema_type_0 import MessageResponseSchemaType0
from .message_response_type_0 import MessageResponseType0
from .message_state import MessageState
from .problem import Problem
from .problem_errors_item import ProblemErrorsItem
from .response_schema import ResponseSchema
from .send_message_request import SendMessageRequest
from .session import Session
from .session_page import SessionPage
from .session_status import SessionStatus
from .settled_message_page import SettledMessagePage
from .submit_response_request import SubmitResponseRequest

__all__ = (
    "CreateSessionRequest",
    "CreateSessionRequestMessageData",
    "CreateSessionRequestMessageDataTemplate",
    "ExpireResult",
    "Health",
    "HealthStatus",
    "JsonObject",
    "Message",
    "MessagePage",
    "MessageResponseSchemaType0",
    "MessageResponseType0",
    "MessageState",
    "Problem",
    "ProblemErrorsItem",
    "ResponseSchema",
    "SendMessageRequest",
    "Session",
    "SessionPage",
    "SessionStatus",
    "SettledMessagePage",
    "SubmitResponseRequest",
)
