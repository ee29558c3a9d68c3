"""The nine endpoints of Cflow's legacy API (``/integromat/api/...``), as methods of
:class:`~cflow_async.CflowClient` through the :class:`LegacyEndpoints` mixin.

``ENDPOINTS`` is the one table of their methods and paths, keyed by the facade method that
calls each. Every method checks its arguments, then makes one
:meth:`~cflow_async._transport.Requester.request` with a reader from ``models``; with
``validate=True`` a write first takes the workflow's :class:`~cflow_async.RecordSchema`
from the client's cache (one fieldsets request when it is not cached).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from ._constants import API_PREFIX
from ._records import RecordSchema
from ._requester import NO_BODY, Requester
from ._schema_cache import SchemaCache
from ._values import RecordLike, record_values, text_id, workflow_name_text
from .models import FieldDefinition, ProcessStage, StageStatus, Workflow, record_id_from_json

__all__ = ["ENDPOINTS", "LegacyEndpoints"]

T = TypeVar("T")

#: Facade method -> (HTTP method, path from the server root), as the legacy document gives them.
ENDPOINTS: Final[Mapping[str, tuple[str, str]]] = {
    name: (method, API_PREFIX + path)
    for name, method, path in (
        ("check_connection", "GET", "/connection/GetConnection"),
        ("get_workflows", "GET", "/cflow/getworkflows"),
        ("get_process", "GET", "/cflow/getprocess"),
        ("get_status", "GET", "/cflow/getstatus"),
        ("submit_record", "POST", "/cflow/submitrecord"),
        ("update_record", "POST", "/cflow/updaterecord"),
        ("get_process_fields_for_map", "GET", "/cflow/getworkflowprocessfieldsformap"),
        ("get_workflow_fieldsets", "GET", "/cflow/getworkflowfieldsets"),
        ("get_process_fieldsets", "GET", "/cflow/getworkflowprocessfieldsets"),
    )
}


class LegacyEndpoints:
    """The legacy endpoints. Needs ``_requester``, ``_username``, ``_timezone`` and
    ``_schemas`` from the client."""

    _requester: Requester
    _username: str
    _timezone: dt.tzinfo | None
    _schemas: SchemaCache

    async def _legacy(
        self,
        operation: str,
        reader: Callable[[Any], T] | None,
        params: Mapping[str, str] | None = None,
        body: Any = NO_BODY,
    ) -> T:
        method, path = ENDPOINTS[operation]
        return await self._requester.request(
            operation, method, path, reader, template=path, params=params, body=body
        )

    def _named(self, workflow_name: str, **more: str) -> dict[str, str]:
        # The query most endpoints take: who asks, about which workflow.
        return {
            "username": self._username,
            "WorkflowName": workflow_name_text(workflow_name),
            **more,
        }

    async def check_connection(self) -> None:
        """GET connection/GetConnection. Returns on 200; raises AuthenticationError on 401."""
        await self._legacy("check_connection", None)

    async def get_workflows(self) -> list[Workflow]:
        """The workflows the user can see (either of the documents' two shapes)."""
        return await self._legacy(
            "get_workflows", Workflow.list_from_json, {"username": self._username}
        )

    async def get_process(self, workflow_name: str) -> list[ProcessStage]:
        """The workflow's stages; ``process_id`` is what other calls take as ``group_id``."""
        return await self._legacy(
            "get_process", ProcessStage.list_from_json, self._named(workflow_name)
        )

    async def get_status(self, workflow_name: str, group_id: str | int) -> list[StageStatus]:
        """The statuses available at a stage."""
        # The document gives getstatus no username parameter.
        params = {
            "WorkflowName": workflow_name_text(workflow_name),
            "group_id": text_id(group_id, "group_id"),
        }
        return await self._legacy("get_status", StageStatus.list_from_json, params)

    async def submit_record(
        self,
        workflow_name: str,
        values: Mapping[str, Any] | RecordLike,
        *,
        validate: bool = False,
    ) -> str:
        """Submit a new record; returns its id. Never retried once it may have reached the
        server: on an unknown outcome the error has ``outcome_unknown=True``.

        ``values`` is a mapping or a typed record (``to_values()``). With ``validate=True``
        they are checked and converted against the workflow's cached
        :meth:`record_schema` first; problems raise RecordValidationError, unsent."""
        params = self._named(workflow_name)
        if validate:
            schema = await self.record_schema(workflow_name)
            dynamic = schema.prepare(values)
        else:
            dynamic = record_values(values, self._timezone)
        body = {"main": {"WorkflowName": params["WorkflowName"]}, "dynamicobj": dynamic}
        return await self._legacy("submit_record", record_id_from_json, params, body)

    async def update_record(
        self,
        workflow_name: str,
        group_id: str | int,
        record_id: str | int,
        values: Mapping[str, Any] | RecordLike,
        *,
        validate: bool = False,
    ) -> str:
        """Change some of a record's values at a stage; returns the record id.

        With ``validate=True`` the values are checked against the stage's cached
        :meth:`record_schema` (``group_id``) first; required fields may be left out."""
        gid, rid = text_id(group_id, "group_id"), text_id(record_id, "record_id")
        params = self._named(workflow_name, group_id=gid, RecordId=rid)
        main = {"WorkflowName": params["WorkflowName"], "group_id": gid, "RecordId": rid}
        if validate:
            schema = await self.record_schema(workflow_name, gid)
            changed = schema.prepare(values, for_update=True)
        else:
            changed = record_values(values, self._timezone)
        body = {"main": main, "Values": changed}
        return await self._legacy("update_record", record_id_from_json, params, body)

    async def record_schema(
        self, workflow_name: str, group_id: str | int | None = None, *, refresh: bool = False
    ) -> RecordSchema:
        """The workflow's form as a :class:`RecordSchema`: from getworkflowfieldsets, or
        the stage's process fieldsets when ``group_id`` is given. Cached per client for
        ``schema_ttl`` seconds; ``refresh=True`` fetches it again."""
        name = workflow_name_text(workflow_name)
        gid = None if group_id is None else text_id(group_id, "group_id")

        async def fetch() -> RecordSchema:
            if gid is None:
                fields = await self.get_workflow_fieldsets(name)
            else:
                fields = await self.get_process_fieldsets(name, gid)
            return RecordSchema(fields, workflow_name=name, group_id=gid, timezone=self._timezone)

        return await self._schemas.get((name, gid), fetch, refresh=refresh)

    async def get_process_fields_for_map(
        self, workflow_name: str, group_id: str | int
    ) -> list[FieldDefinition]:
        """The fields of a stage, in the form meant for mapping tools."""
        params = self._named(workflow_name, group_id=text_id(group_id, "group_id"))
        return await self._legacy(
            "get_process_fields_for_map", FieldDefinition.list_from_json, params
        )

    async def get_workflow_fieldsets(self, workflow_name: str) -> list[FieldDefinition]:
        """The fields of the workflow's submission form."""
        return await self._legacy(
            "get_workflow_fieldsets", FieldDefinition.list_from_json, self._named(workflow_name)
        )

    async def get_process_fieldsets(
        self, workflow_name: str, group_id: str | int
    ) -> list[FieldDefinition]:
        """The fields shown at a stage."""
        params = self._named(workflow_name, group_id=text_id(group_id, "group_id"))
        return await self._legacy("get_process_fieldsets", FieldDefinition.list_from_json, params)
