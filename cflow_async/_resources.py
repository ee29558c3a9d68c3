"""The OpenAPI operations as namespaces over the generated ``cflow_openapi`` package.

Request building and parsing are the generated code's; what is added here: path
parameters that cannot leave their segment, ``None`` bodies for unset approval keys,
and typed errors for bodies the generated parser cannot read.
"""

from __future__ import annotations

import builtins
import datetime as dt
import functools
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from cflow_openapi import models as generated_models
from cflow_openapi.api.requests import (
    approve_request,
    create_draft_request,
    create_request,
    delete_request,
    get_request,
    list_requests,
    reject_request,
    update_request,
)
from cflow_openapi.api.users import list_roles, list_users
from cflow_openapi.api.workflows import get_workflow
from cflow_openapi.models import (
    ApprovalAction,
    Request,
    RequestCreate,
    RequestCreateFields,
    RequestUpdate,
    RequestUpdateFields,
    Role,
    User,
    Workflow,
)
from cflow_openapi.types import UNSET, Unset

from ._errors import InvalidArgumentError
from ._transport import NO_BODY
from ._values import record_values, text_id
from .models import ShapeError

if TYPE_CHECKING:
    from ._transport import Requester

__all__ = ["RequestsResource", "RolesResource", "UsersResource", "WorkflowsResource"]

T = TypeVar("T")


def path_segment(value: str | int, name: str) -> str:
    """An id for a path segment. The generated code percent-encodes it (``/`` included);
    ``.`` and ``..`` survive encoding and would be resolved as dot-segments, so refuse them."""
    text = text_id(value, name)
    if text.strip() in (".", ".."):
        raise InvalidArgumentError(f"{name} {text!r} is not a valid id")
    return text


def _fields(fields: Mapping[str, Any], cls: Callable[[], T], tz: dt.tzinfo | None) -> T:
    if not isinstance(fields, Mapping):
        raise InvalidArgumentError(f"fields must be a mapping, got {type(fields).__name__}")
    model = cls()
    # Same conversions as legacy records: dates in Cflow's format, lists as given, and
    # values JSON cannot carry refused before anything is sent.
    model.additional_properties = record_values(fields, tz)  # type: ignore[attr-defined]
    return model


@functools.cache
def _field_types(cls: type) -> dict[str, tuple[Any, ...]]:
    """The allowed types of each field of a generated model, ``Unset`` left out."""
    # Generated modules import sibling models only under TYPE_CHECKING; resolve the
    # annotations against the models package, which holds them all.
    hints = typing.get_type_hints(
        cls, globalns=vars(sys.modules[cls.__module__]), localns=vars(generated_models)
    )
    return {
        f.name: tuple(
            t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if t is not Unset
        )
        for f in attrs.fields(cls)
        if f.name != "additional_properties"
    }


def _conformed(value: Any, allowed: tuple[Any, ...], where: str) -> Any:
    for kind in allowed:
        if kind is str:
            if isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)  # ids as numbers, as the legacy API also sends them
        elif typing.get_origin(kind) is list:
            if isinstance(value, list):
                (item,) = typing.get_args(kind)
                return [_conformed(v, (item,), where) for v in value]
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif attrs.has(kind):
            if isinstance(value, kind):
                return _conform(value)
        elif isinstance(kind, type) and isinstance(value, kind):
            return value
    raise ShapeError(f"{where} has an unexpected {type(value).__name__}")


def _conform(model: Any) -> Any:
    """The generated from_dict does not check scalar types ({"id": 5} gives id=5 in a
    str field). Coerce numeric ids to str and refuse any other mismatch."""
    cls: Any = type(model)
    for name, allowed in _field_types(cls).items():
        value = getattr(model, name)
        if not isinstance(value, Unset):
            setattr(model, name, _conformed(value, allowed, f"{type(model).__name__}.{name}"))
    return model


def _one(model: Any) -> Callable[[Any], Any]:
    def parse(data: Any) -> Any:
        # The generated from_dict runs dict() on its input, which would turn [] or
        # [["id", "1"]] into a model; insist on a JSON object.
        if not isinstance(data, dict):
            raise ShapeError(f"expected a JSON object, got {type(data).__name__}")
        return _conform(model.from_dict(data))

    return parse


def _many(model: Any) -> Callable[[Any], Any]:
    one = _one(model)

    def parse(data: Any) -> Any:
        if not isinstance(data, list):
            raise ShapeError(f"expected a JSON array, got {type(data).__name__}")
        return [one(item) for item in data]

    return parse


# Readers built once, not per call.
_REQUEST = _one(Request)
_REQUESTS = _many(Request)
_WORKFLOW = _one(Workflow)
_USERS = _many(User)
_ROLES = _many(Role)


class _Resource:
    def __init__(self, requester: Requester, timezone: dt.tzinfo | None = None) -> None:
        self._requester = requester
        self._timezone = timezone  # for dates in ``fields``, as in legacy records

    async def _generated(self, kwargs: dict[str, Any], reader: Callable[[Any], T] | None) -> T:
        """Send the request the generated ``_get_kwargs`` describes, on the one path."""
        body = kwargs.get("json", NO_BODY)
        method = kwargs["method"].upper()
        return await self._requester.request("openapi", method, kwargs["url"], reader, body=body)


class WorkflowsResource(_Resource):
    async def get(self, workflow_id: str | int) -> Workflow:
        kwargs = get_workflow._get_kwargs(path_segment(workflow_id, "workflow_id"))
        return await self._generated(kwargs, _WORKFLOW)


class RequestsResource(_Resource):
    async def list(self, workflow_id: str | int) -> builtins.list[Request]:
        kwargs = list_requests._get_kwargs(path_segment(workflow_id, "workflow_id"))
        return await self._generated(kwargs, _REQUESTS)

    async def create(self, workflow_id: str | int, fields: Mapping[str, Any]) -> Request:
        body = RequestCreate(fields=_fields(fields, RequestCreateFields, self._timezone))
        kwargs = create_request._get_kwargs(path_segment(workflow_id, "workflow_id"), body=body)
        return await self._generated(kwargs, _REQUEST)

    async def create_draft(self, workflow_id: str | int, fields: Mapping[str, Any]) -> Request:
        body = RequestCreate(fields=_fields(fields, RequestCreateFields, self._timezone))
        kwargs = create_draft_request._get_kwargs(
            path_segment(workflow_id, "workflow_id"), body=body
        )
        return await self._generated(kwargs, _REQUEST)

    async def get(self, workflow_id: str | int, request_id: str | int) -> Request:
        kwargs = get_request._get_kwargs(
            path_segment(workflow_id, "workflow_id"), path_segment(request_id, "request_id")
        )
        return await self._generated(kwargs, _REQUEST)

    async def update(
        self, workflow_id: str | int, request_id: str | int, fields: Mapping[str, Any]
    ) -> Request:
        body = RequestUpdate(fields=_fields(fields, RequestUpdateFields, self._timezone))
        kwargs = update_request._get_kwargs(
            path_segment(workflow_id, "workflow_id"),
            path_segment(request_id, "request_id"),
            body=body,
        )
        return await self._generated(kwargs, _REQUEST)

    async def delete(self, workflow_id: str | int, request_id: str | int) -> None:
        # The generator emits no plain asyncio() for deleteRequest (it returns nothing).
        kwargs = delete_request._get_kwargs(
            path_segment(workflow_id, "workflow_id"), path_segment(request_id, "request_id")
        )
        await self._generated(kwargs, None)

    async def approve(
        self,
        workflow_id: str | int,
        request_id: str | int,
        *,
        comment: str | None = None,
        reassign_to: str | None = None,
    ) -> Request:
        """Approve at the current stage, or with ``reassign_to`` hand it to another user."""
        return await self._act(approve_request, workflow_id, request_id, comment, reassign_to)

    async def reject(
        self,
        workflow_id: str | int,
        request_id: str | int,
        *,
        comment: str | None = None,
        reassign_to: str | None = None,
    ) -> Request:
        """Reject at the current stage, or with ``reassign_to`` hand it to another user."""
        return await self._act(reject_request, workflow_id, request_id, comment, reassign_to)

    async def _act(
        self,
        operation: Any,
        workflow_id: str | int,
        request_id: str | int,
        comment: str | None,
        reassign_to: str | None,
    ) -> Request:
        kwargs = operation._get_kwargs(
            path_segment(workflow_id, "workflow_id"),
            path_segment(request_id, "request_id"),
            body=_action(comment, reassign_to),
        )
        return await self._generated(kwargs, _REQUEST)


def _action(comment: str | None, reassign_to: str | None) -> ApprovalAction:
    for name, value in (("comment", comment), ("reassign_to", reassign_to)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__}")
    # Unset keys are left out of the body, not sent as null.
    return ApprovalAction(
        comment=UNSET if comment is None else comment,
        reassign_to=UNSET if reassign_to is None else reassign_to,
    )


class UsersResource(_Resource):
    async def list(self) -> builtins.list[User]:
        kwargs = list_users._get_kwargs()
        return await self._generated(kwargs, _USERS)


class RolesResource(_Resource):
    async def list(self) -> builtins.list[Role]:
        kwargs = list_roles._get_kwargs()
        return await self._generated(kwargs, _ROLES)
