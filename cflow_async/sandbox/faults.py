"""Fault-injection configuration and the per-request decision of which fault (if any) to inject."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultConfigError(ValueError):
    """A fault configuration (from Python or the admin API) is invalid."""


def _check_probability(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise FaultConfigError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _check_seconds(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise FaultConfigError(f"{attribute.name} must be a non-negative number, got {value!r}")


def _check_status(status: int) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise FaultConfigError(f"fault statuses must be integers in 400..599, got {status!r}")


def _check_header_value(name: str, value: str | None) -> None:
    # A control character would make uvicorn fail while writing the response, turning an
    # injected fault into a real crash.
    if value is not None and (not value or not all(" " <= ch <= "~" for ch in value)):
        raise FaultConfigError(f"{name} must be a non-empty printable ASCII string")


def _check_retry_after(
    _instance: object, attribute: attrs.Attribute[str | None], value: Any
) -> None:
    _check_header_value(attribute.name, value)


def _check_retry_after_ms(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise FaultConfigError(f"retry_after_ms must be a non-negative integer, got {value!r}")


def _to_statuses(values: Iterable[int]) -> tuple[int, ...]:
    statuses = tuple(values)
    if not statuses:
        raise FaultConfigError("statuses must not be empty")
    for status in statuses:
        _check_status(status)
    return statuses


def _to_methods(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    return tuple(method.upper() for method in values)


def _to_optional_method(value: str | None) -> str | None:
    return None if value is None else value.upper()


def _to_script(items: Iterable[ScriptedFault | Mapping[str, Any]]) -> tuple[ScriptedFault, ...]:
    return tuple(
        item if isinstance(item, ScriptedFault) else ScriptedFault.from_json(item) for item in items
    )


def _matches(
    methods: Sequence[str] | None, path_contains: str | None, method: str, path: str
) -> bool:
    if methods is not None and method.upper() not in methods:
        return False
    return path_contains is None or path_contains in path


@attrs.frozen
class ScriptedFault:
    """A one-shot fault, consumed by the first request that matches ``method``/``path_contains``.

    ``status=None`` (with ``drop=False``) lets the request through, which is useful to delay a
    single request with ``latency`` or to skip past one request in a scripted sequence.
    """

    status: int | None = 503
    retry_after: str | None = attrs.field(default=None, validator=_check_retry_after)
    retry_after_ms: int | None = attrs.field(default=None, validator=_check_retry_after_ms)
    drop: bool = False
    act: bool = False
    latency: float = attrs.field(default=0.0, validator=_check_seconds)
    method: str | None = attrs.field(default=None, converter=_to_optional_method)
    path_contains: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.status is not None:
            _check_status(self.status)

    def matches(self, method: str, path: str) -> bool:
        methods = None if self.method is None else (self.method,)
        return _matches(methods, self.path_contains, method, path)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScriptedFault:
        if not isinstance(data, Mapping):
            raise FaultConfigError("each scripted fault must be a JSON object")
        _reject_unknown_keys(cls, data)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "status":
                if value is not None:
                    _check_status(value)
                kwargs[key] = value
            elif key in ("drop", "act"):
                kwargs[key] = _as_bool(key, value)
            elif key == "latency":
                kwargs[key] = _as_number(key, value)
            elif key == "retry_after":
                kwargs[key] = _as_retry_after(value)
            elif key in ("method", "path_contains"):
                kwargs[key] = _as_optional_str(key, value)
            else:
                kwargs[key] = value
        return cls(**kwargs)


@attrs.frozen
class FaultConfig:
    """What to inject into Cflow routes (never into the ``/__sandbox__`` admin routes).

    For each Cflow request passing the ``methods``/``path_contains`` filters, exactly four
    random numbers are drawn from ``random.Random(seed)``, so a seeded run injects the same
    faults into the same sequence of requests whatever happened before. ``script`` entries take
    precedence and do not draw random numbers.
    """

    rate: float = attrs.field(default=0.0, validator=_check_probability)
    statuses: tuple[int, ...] = attrs.field(default=(503,), converter=_to_statuses)
    retry_after: str | None = attrs.field(default=None, validator=_check_retry_after)
    retry_after_ms: int | None = attrs.field(default=None, validator=_check_retry_after_ms)
    latency: float = attrs.field(default=0.0, validator=_check_seconds)
    drop_rate: float = attrs.field(default=0.0, validator=_check_probability)
    act_before_fault: float = attrs.field(default=0.0, validator=_check_probability)
    methods: tuple[str, ...] | None = attrs.field(default=None, converter=_to_methods)
    path_contains: str | None = None
    seed: int | None = None
    script: tuple[ScriptedFault, ...] = attrs.field(default=(), converter=_to_script)

    def applies_to(self, method: str, path: str) -> bool:
        return _matches(self.methods, self.path_contains, method, path)

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "statuses": list(self.statuses),
            "retry_after": self.retry_after,
            "retry_after_ms": self.retry_after_ms,
            "latency": self.latency,
            "drop_rate": self.drop_rate,
            "act_before_fault": self.act_before_fault,
            "methods": None if self.methods is None else list(self.methods),
            "path_contains": self.path_contains,
            "seed": self.seed,
            "script": [item.to_json() for item in self.script],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        """Parse the admin API's JSON; with ``base``, keys not given keep ``base``'s values."""
        if not isinstance(data, Mapping):
            raise FaultConfigError("the fault configuration must be a JSON object")
        _reject_unknown_keys(cls, data)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("rate", "latency", "drop_rate", "act_before_fault"):
                kwargs[key] = _as_number(key, value)
            elif key == "statuses":
                if not isinstance(value, list):
                    raise FaultConfigError("statuses must be a list of integers")
                kwargs[key] = value
            elif key == "retry_after":
                kwargs[key] = _as_retry_after(value)
            elif key == "methods":
                if value is not None and not (
                    isinstance(value, list) and all(isinstance(item, str) for item in value)
                ):
                    raise FaultConfigError("methods must be null or a list of strings")
                kwargs[key] = value
            elif key == "path_contains":
                kwargs[key] = _as_optional_str(key, value)
            elif key == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise FaultConfigError("seed must be null or an integer")
                kwargs[key] = value
            elif key == "script":
                if not isinstance(value, list):
                    raise FaultConfigError("script must be a list of objects")
                kwargs[key] = value
            else:
                kwargs[key] = value
        if base is not None:
            return attrs.evolve(base, **kwargs)
        return cls(**kwargs)


def _reject_unknown_keys(cls: type[Any], data: Mapping[str, Any]) -> None:
    known = {field.name for field in attrs.fields(cls)}
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise FaultConfigError(f"unknown key(s): {', '.join(unknown)}")


def _as_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultConfigError(f"{name} must be a number, got {value!r}")
    return float(value)


def _as_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FaultConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _as_optional_str(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise FaultConfigError(f"{name} must be null or a string, got {value!r}")
    return value


def _as_retry_after(value: Any) -> str | None:
    # Seconds are commonly written as a JSON number; the header carries them as text.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return _as_optional_str("retry_after", value)


@attrs.frozen
class FaultPlan:
    """What to do to one request."""

    status: int | None = None
    drop: bool = False
    act: bool = False
    latency: float = 0.0
    retry_after: str | None = None
    retry_after_ms: int | None = None
    scripted: bool = False

    @property
    def faulted(self) -> bool:
        return self.drop or self.status is not None


class FaultInjector:
    """Holds the current configuration, its random generator and the remaining script."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.queue: deque[ScriptedFault] = deque(config.script)

    def replace(self, config: FaultConfig, *, reseed: bool = True) -> None:
        self.config = config
        if reseed:
            self.rng = random.Random(config.seed)
        self.queue = deque(config.script)

    def current(self) -> FaultConfig:
        """The configuration with ``script`` showing only the entries not consumed yet."""
        return attrs.evolve(self.config, script=tuple(self.queue))

    def append_script(self, items: Iterable[ScriptedFault]) -> None:
        self.queue.extend(items)

    def plan(self, method: str, path: str) -> FaultPlan | None:
        config = self.config
        applies = config.applies_to(method, path)
        for index, item in enumerate(self.queue):
            if item.matches(method, path):
                del self.queue[index]
                return FaultPlan(
                    status=None if item.drop else item.status,
                    drop=item.drop,
                    act=item.act,
                    latency=item.latency + (config.latency if applies else 0.0),
                    retry_after=item.retry_after,
                    retry_after_ms=item.retry_after_ms,
                    scripted=True,
                )
        if not applies:
            return None
        drop_roll = self.rng.random()
        rate_roll = self.rng.random()
        act_roll = self.rng.random()
        status = self.rng.choice(config.statuses)
        drop = drop_roll < config.drop_rate
        if not drop and rate_roll >= config.rate:
            return FaultPlan(latency=config.latency) if config.latency else None
        return FaultPlan(
            status=None if drop else status,
            drop=drop,
            # A 429 (or any 4xx) says the server did not act, so only drops and 5xx may have.
            act=method.upper() in WRITE_METHODS
            and act_roll < config.act_before_fault
            and (drop or status >= 500),
            latency=config.latency,
            retry_after=config.retry_after,
            retry_after_ms=config.retry_after_ms,
        )
