"""The records of model.py to plain JSON data and back, driven by their type hints.

Used for what the tool keeps for itself (the plan cache in the journal, the state a sharded run
leaves for `report merge`), not for the published reports, whose schema is report/json.py's.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
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
    return _loader(kind)(data)


Loader = Callable[[Any], Any]


@cache
def _loader(kind: Any) -> Loader:
    """The function that loads data of type `kind`, made once per type: a re-plan decodes
    every cached plan, and asking `typing` about each value's type cost most of that."""
    origin = get_origin(kind)
    if kind is Any or origin is typing.Literal:
        return _same
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return _loader(options[0]) if len(options) == 1 else _same
    if origin is tuple:
        args = get_args(kind)
        if len(args) > 1 and args[1] is not Ellipsis:
            return _fixed_tuple(tuple(_loader(a) for a in args))
        return _each(tuple, _loader(args[0] if len(args) == 2 else Any))
    if origin is list:
        (item,) = get_args(kind) or (Any,)
        return _each(list, _loader(item))
    if origin is dict:
        _, value_kind = get_args(kind) or (Any, Any)
        return _values(_loader(value_kind))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _none_or(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _record(kind)
    return _same


def _same(data: Any) -> Any:
    return data


def _none_or(load: Loader) -> Loader:
    return lambda data: None if data is None else load(data)


def _fixed_tuple(loaders: tuple[Loader, ...]) -> Loader:
    return _none_or(lambda data: tuple(
        load(v) for load, v in zip(loaders, data, strict=True)))


def _each(container: Callable[[Any], Any], item: Loader) -> Loader:
    if item is _same:
        return _none_or(container)
    return _none_or(lambda data: container([item(v) for v in data]))


def _values(value: Loader) -> Loader:
    if value is _same:
        return _none_or(dict)
    return _none_or(lambda data: {k: value(v) for k, v in data.items()})


def _record(kind: type) -> Loader:
    # The fields' loaders are made on first use: a record may hold records of its own type.
    fields: list[tuple[str, Loader]] = []

    def load(data: Any) -> Any:
        if data is None:
            return None
        if not fields:
            hints = _hints(kind)
            fields.extend((f.name, _loader(hints[f.name])) for f in dataclasses.fields(kind))
        return kind(**{name: field(data[name]) for name, field in fields if name in data})

    return load
