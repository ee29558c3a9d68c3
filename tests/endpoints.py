"""The endpoint catalog: one :class:`Endpoint` per facade call, for table-driven tests.

Built from the library's own tables, so a new operation shows up here (and in every test
driven from here) without editing this file:

* legacy methods from ``cflow_async._legacy.ENDPOINTS`` (name -> HTTP method, path);
* OpenAPI operations from ``scripts/facade_table.py`` over ``openapi/cflow.yaml`` and
  ``openapi/facade.yaml`` (the same table the generated namespaces come from), with the
  success status the document gives;
* the result type from each facade method's return annotation.

What is written down here is what no table in the library says, i.e. the wire contract
the tests pin: canonical example arguments (by parameter name), each legacy endpoint's
query parameters, and a canonical success body per result type.
``tests/client/test_endpoint_catalog.py`` fails when the catalog misses a public facade method.

Use::

    from endpoints import CATALOG, by_name, select

    @pytest.mark.parametrize("ep", select(kind="openapi"), ids=str)
    async def test_x(client, httpx_mock, ep):
        httpx_mock.add_response(**ep.ok_response())
        assert ep.check(await ep.call(client))
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import inspect
import sys
import typing
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from cflow_openapi import models as api

from cflow_async import CflowClient, FieldDefinition, ProcessStage, StageStatus, Workflow
from cflow_async import _openapi_namespaces as generated_namespaces
from cflow_async._legacy import ENDPOINTS as LEGACY_ENDPOINTS
from cflow_async._openapi_runtime import Namespace
from cflow_async._retry import may_duplicate

ROOT = Path(__file__).resolve().parents[1]
_SCRIPTS = str(ROOT / "scripts")
if _SCRIPTS not in sys.path:  # scripts/ is not installed (tests/spec_changes does the same)
    sys.path.insert(0, _SCRIPTS)

from facade_table import load_facade_table  # noqa: E402

Kind = Literal["legacy", "openapi"]
PREFIX = "/integromat/api/cflow/"

#: Canonical example arguments, by the facade's parameter names. A new operation whose
#: required parameters are all named here needs nothing more in this file.
EXAMPLES: dict[str, Any] = {
    "workflow_name": "W",
    "group_id": "27406",
    "record_id": "44",
    "values": {"a": 1},
    "workflow_id": "wf-1",
    "request_id": "r-1",
    "fields": {"a": 1},
}

#: Legacy query parameters: query name -> the argument it carries (None: the client's
#: username). The legacy document's contract; getstatus takes no username.
_USER: dict[str, str | None] = {"username": None}
_NAME: dict[str, str | None] = {"WorkflowName": "workflow_name"}
_GROUP: dict[str, str | None] = {"group_id": "group_id"}
LEGACY_QUERY: dict[str, dict[str, str | None]] = {
    "check_connection": {},
    "get_workflows": _USER,
    "get_process": _USER | _NAME,
    "get_status": _NAME | _GROUP,
    "submit_record": _USER | _NAME,
    "update_record": _USER | _NAME | _GROUP | {"RecordId": "record_id"},
    "get_process_fields_for_map": _USER | _NAME | _GROUP,
    "get_workflow_fieldsets": _USER | _NAME,
    "get_process_fieldsets": _USER | _NAME | _GROUP,
}

REQUEST_JSON: dict[str, Any] = {
    "id": "r-1",
    "workflowId": "wf-1",
    "status": "pending",
    "currentStage": "Manager Review",
    "fields": {"a": 1},
    "submittedBy": "alice",
    "createdAt": "2024-03-26T18:30:00+00:00",
    "updatedAt": "2024-03-27T09:00:00+00:00",
}
WORKFLOW_JSON: dict[str, Any] = {
    "id": "wf-1",
    "name": "Expense Claims",
    "status": "active",
    "stages": [{"id": "s1", "name": "Submit", "order": 1, "reviewers": []}],
}
USER_JSON: dict[str, Any] = {
    "id": "u1",
    "username": "alice",
    "email": "alice@example.com",
    "role": "Admin",
    "status": "active",
}
ROLE_JSON: dict[str, Any] = {"id": "r1", "name": "Approver", "permissions": {"workflows": "edit"}}

#: A canonical success body per result type: legacy readers take the documents' wrapped
#: or bare shapes, OpenAPI readers the model's JSON (a list of one for list results).
OK_BODIES: dict[Any, Any] = {
    type(None): None,
    str: {"Record_Id": "44"},
    list[Workflow]: {"Workflows": [{"WorkflowName": "W", "WorkflowDisplayName": "W"}]},
    list[ProcessStage]: [
        {"ProcessStage": "Review", "ProcessStageDisplayName": "Review", "ProcessID": "27405"}
    ],
    list[StageStatus]: {"Status": [{"Group_ID": "27406", "Field_Status": "New"}]},
    list[FieldDefinition]: [{"name": "City", "type": "text", "label": "City"}],
    api.Request: REQUEST_JSON,
    api.Workflow: WORKFLOW_JSON,
    api.User: USER_JSON,
    api.Role: ROLE_JSON,
}


def _model_json(returns: Any) -> Any:
    if returns in OK_BODIES:
        return OK_BODIES[returns]
    if typing.get_origin(returns) is list:
        (item,) = typing.get_args(returns)
        if item in OK_BODIES:
            return [OK_BODIES[item]]
    raise KeyError(f"no canonical success body for {returns!r}: add one to OK_BODIES")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One facade call, e.g. ``get_status`` or ``requests.create``."""

    name: str  #: facade name: "get_workflows", "requests.create"
    kind: Kind
    method: str  #: HTTP method, upper case
    #: path template from the server root ("/integromat/api/cflow/workflows/{workflowId}")
    path: str
    params: tuple[str, ...]  #: required parameters of the facade method, in order
    path_args: tuple[str, ...]  #: parameters that fill path segments, in path order
    query: Mapping[str, str | None]  #: query name -> parameter (None: the username)
    returns: Any  #: the result type (the return annotation)
    ok_status: int  #: the documented success status
    ok_body: Any  #: a canonical success body (JSON value; None: no body)

    def __str__(self) -> str:  # test ids
        return self.name

    # -- what kind of call it is --------------------------------------------------------

    @property
    def writes(self) -> bool:
        """Sending it twice may apply it twice (``may_duplicate``): never retried once it
        may have reached the server, its failures then carry ``outcome_unknown``."""
        return may_duplicate(self.method)

    @property
    def has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")

    @property
    def model(self) -> Any:
        """The result's item type: ``Workflow`` for ``list[Workflow]``, ``str``, ``NoneType``."""
        args = typing.get_args(self.returns)
        return args[0] if typing.get_origin(self.returns) is list else self.returns

    @property
    def returns_list(self) -> bool:
        return typing.get_origin(self.returns) is list

    # -- calling it ---------------------------------------------------------------------

    def args(self, **overrides: Any) -> dict[str, Any]:
        """The canonical arguments, with some replaced."""
        unknown = set(overrides) - set(self.params)
        assert not unknown, f"{self.name} takes no {sorted(unknown)}"
        return {p: overrides.get(p, EXAMPLES[p]) for p in self.params}

    def bound(self, client: CflowClient) -> Callable[..., Awaitable[Any]]:
        target: Any = client
        for part in self.name.split("."):
            target = getattr(target, part)
        return typing.cast(Callable[..., Awaitable[Any]], target)

    def call(self, client: CflowClient, **overrides: Any) -> Awaitable[Any]:
        """The facade call with canonical arguments (``overrides`` replace some)."""
        return self.bound(client)(**self.args(**overrides))

    def __call__(self, client: CflowClient) -> Awaitable[Any]:
        """``ep(client)``: the canonical call, so an Endpoint is itself a call factory."""
        return self.call(client)

    def call_with(self, client: CflowClient, value: Any) -> Awaitable[Any]:
        """Every argument carries ``value``: ids and names are ``value``, and field maps
        are ``{value: value}``."""
        return self.call(client, **self.with_value(value))

    def with_value(self, value: Any) -> dict[str, Any]:
        return {
            p: ({value: value} if isinstance(EXAMPLES[p], dict) else value) for p in self.params
        }

    # -- what goes on the wire ----------------------------------------------------------

    def _filled(self, overrides: dict[str, Any]) -> list[str]:
        args = self.args(**overrides)
        return [
            str(args[_snake(part[1:-1])]) if part.startswith("{") else part
            for part in self.path.split("/")
        ]

    def segments(self, **overrides: Any) -> list[str]:
        """The expected path after ``/integromat/api/cflow/``, segment by segment
        (unencoded), for the given arguments."""
        return self._filled(overrides)[PREFIX.count("/") :]

    def raw_path(self, **overrides: Any) -> str:
        """The expected raw path: the template with each id percent-encoded in place."""
        return "/".join(quote(part, safe="") for part in self._filled(overrides))

    def expected_query(self, username: str, **overrides: Any) -> dict[str, str]:
        args = self.args(**overrides)
        return {k: username if p is None else str(args[p]) for k, p in self.query.items()}

    # -- the success answer -------------------------------------------------------------

    @property
    def ok(self) -> tuple[int, Any]:
        """``(ok_status, ok_body)``."""
        return self.ok_status, self.ok_body

    def ok_response(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx_mock.add_response`` answering with success."""
        if self.ok_body is None:
            return {"status_code": self.ok_status}
        return {"status_code": self.ok_status, "json": self.ok_body}

    def check(self, result: Any) -> bool:
        """The result has the declared type (items checked one by one)."""
        if self.returns_list:
            return isinstance(result, list) and all(isinstance(x, self.model) for x in result)
        return isinstance(result, self.model)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _required_params(function: Callable[..., Any]) -> tuple[str, ...]:
    signature = inspect.signature(function)
    return tuple(
        p.name
        for p in list(signature.parameters.values())[1:]  # not self
        if p.default is inspect.Parameter.empty and p.kind is not p.KEYWORD_ONLY
    )


def _returns(function: Callable[..., Any]) -> Any:
    module = sys.modules[function.__module__]
    hints = typing.get_type_hints(function, vars(module) | {"builtins": builtins})
    returns = hints["return"]
    if typing.get_origin(returns) is builtins.list:
        return list[typing.get_args(returns)[0]]  # type: ignore[misc]
    return type(None) if returns is None else returns


def _namespaces() -> dict[str, type[Namespace]]:
    """The client's namespace properties (``requests`` -> RequestsNamespace), found by the
    cached properties' return annotations."""
    out = {}
    for name in dir(CflowClient):
        attr = inspect.getattr_static(CflowClient, name)
        if name.startswith("_") or not isinstance(attr, functools.cached_property):
            continue
        annotation = attr.func.__annotations__.get("return")
        cls = getattr(generated_namespaces, str(annotation), None)
        if isinstance(cls, type) and issubclass(cls, Namespace):
            out[name] = cls
    return out


def public_facade_names() -> set[str]:
    """Every public call of the facade, found by looking at the client class (so a method
    added without a catalog entry is noticed): legacy coroutine methods and the coroutine
    methods of each namespace. Lifecycle and the helpers built on the endpoints (bulk
    submission, import, record schemas) are not single calls."""
    not_calls = {"aclose", "submit_records", "with_options", "record_schema", "import_records"}
    names = {
        name
        for name in dir(CflowClient)
        if not name.startswith("_")
        and name not in not_calls
        and inspect.iscoroutinefunction(inspect.getattr_static(CflowClient, name))
    }
    for ns, cls in _namespaces().items():
        names |= {
            f"{ns}.{name}"
            for name, attr in vars(cls).items()
            if not name.startswith("_") and inspect.iscoroutinefunction(attr)
        }
    return names


def _first_2xx(spec: Mapping[str, Any], path: str, method: str) -> int:
    responses = spec["paths"][path][method.lower()]["responses"]
    return min(int(code) for code in responses if str(code).startswith("2"))


def _build() -> tuple[Endpoint, ...]:
    out: list[Endpoint] = []
    for name, (method, path) in LEGACY_ENDPOINTS.items():
        function = getattr(CflowClient, name)
        returns = _returns(function)
        out.append(
            Endpoint(
                name=name,
                kind="legacy",
                method=method,
                path=path,
                params=_required_params(function),
                path_args=(),
                query=LEGACY_QUERY[name],
                returns=returns,
                ok_status=200,
                ok_body=_model_json(returns),
            )
        )
    spec_path, mapping_path = ROOT / "openapi" / "cflow.yaml", ROOT / "openapi" / "facade.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    namespaces = _namespaces()
    for op in load_facade_table(spec_path, mapping_path):
        function = getattr(namespaces[op.namespace], op.method)
        returns = _returns(function)
        out.append(
            Endpoint(
                name=op.qualname,
                kind="openapi",
                method=op.http_method,
                path=op.path,
                params=_required_params(function),
                path_args=tuple(_snake(p) for p in op.path_params),
                query={q: _snake(q) for q in op.required_query},
                returns=returns,
                ok_status=_first_2xx(spec, op.path, op.http_method),
                ok_body=_model_json(returns),
            )
        )
    return tuple(out)


#: Every facade call: the 9 legacy methods, then the OpenAPI operations in document order.
CATALOG: tuple[Endpoint, ...] = _build()
_BY_NAME = {ep.name: ep for ep in CATALOG}


def endpoint(name: str) -> Endpoint:
    """The endpoint of that facade name (KeyError for a name not in the catalog)."""
    return _BY_NAME[name]


def by_name(*names: str) -> list[Endpoint]:
    """The named endpoints, in the order given (KeyError for a name not in the catalog)."""
    return [_BY_NAME[name] for name in names]


def select(
    *,
    kind: Kind | None = None,
    writes: bool | None = None,
    has_path_args: bool | None = None,
    has_args: bool | None = None,
    where: Callable[[Endpoint], bool] | None = None,
) -> list[Endpoint]:
    """The endpoints matching every given condition, in catalog order."""
    return [
        ep
        for ep in CATALOG
        if (kind is None or ep.kind == kind)
        and (writes is None or ep.writes == writes)
        and (has_path_args is None or bool(ep.path_args) == has_path_args)
        and (has_args is None or bool(ep.params) == has_args)
        and (where is None or where(ep))
    ]


def one_per_route_kind() -> list[Endpoint]:
    """One endpoint per (kind, HTTP method, result shape): the distinct request paths
    through the client, for tests too costly to run on every endpoint."""
    seen: set[tuple[str, str, bool, bool]] = set()
    out = []
    for ep in CATALOG:
        key = (ep.kind, ep.method, ep.returns_list, ep.ok_body is None)
        if key not in seen:
            seen.add(key)
            out.append(ep)
    return out
