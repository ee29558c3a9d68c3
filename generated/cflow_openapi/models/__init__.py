"""Contains all the data models used in inputs/outputs"""

from .approval_action import ApprovalAction
from .request import Request
from .request_create import RequestCreate
from .request_create_fields import RequestCreateFields
from .request_fields import RequestFields
from .request_status import RequestStatus
from .request_update import RequestUpdate
from .request_update_fields import RequestUpdateFields
from .role import Role
from .role_permissions import RolePermissions
from .stage import Stage
from .user import User
from .user_status import UserStatus
from .workflow import Workflow
from .workflow_status import WorkflowStatus

__all__ = (
    "ApprovalAction",
    "Request",
    "RequestCreate",
    "RequestCreateFields",
    "RequestFields",
    "RequestStatus",
    "RequestUpdate",
    "RequestUpdateFields",
    "Role",
    "RolePermissions",
    "Stage",
    "User",
    "UserStatus",
    "Workflow",
    "WorkflowStatus",
)
