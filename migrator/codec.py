"""The records of model.py to plain JSON data and back, driven by their type hints.

Used for what the tool keeps for itself (the plan cache in the journal, the state a sharded run
leaves for `report merge`), not for the published reports, whose schema is report/json.py's.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


def load(kind: type[T], data: Any) -> T:
    result: T = _load(kind, data)
    return result


@cache
def _hints(kind: type) -> dict[str, Any]:
    return get_type_hints(kind)


def _load(kind: Any, data: Any) -> Any:
    if kind is Any or data is None:
        return data
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return _load(options[0], data) if len(options) == 1 else data
    if origin is typing.Literal:
        return data
    if origin is tuple:
        args = get_args(kind)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        if len(args) > 1 and args[1] is not Ellipsis:
            return tuple(_load(a, v) for a, v in zip(args, data, strict=True))
        return tuple(_load(item, v) for v in data)
    if origin is list:
        (item,) = get_args(kind) or (Any,)
        return [_load(item, v) for v in data]
    if origin is dict:
        _, value_kind = get_args(kind) or (Any, Any)
        return {k: _load(value_kind, v) for k, v in data.items()}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{f.name: _load(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind) if f.name in data})
    return data
