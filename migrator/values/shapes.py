"""Values of another shape: what the migration would write, held against the central defaults.

A fork's templates may read a value in a shape the central chart's templates cannot: a list of
host strings where the central chart ranges over `{host, paths}` maps, `tls: true` where it
expects a list, an `env` map where it expects a list of `{name, value}`. Helm would stop on it
with a raw template error ("can't evaluate field host in type interface {}"); found here, before
any render, each one is a named finding with both shapes, and, where a simple `convert` rule
fits, what `migrator mappings suggest` would write.

Only what the central defaults say is compared: a `null` or absent default says nothing; an empty
list or map says "a list" or "a map" but nothing of its items (the first item of a non-empty
default gives the item shape; for an empty list named like a container's `env`, Kubernetes
does). An empty fork value renders nothing in either shape and is not a mismatch. Everything here
is pure: plain dicts in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from migrator import tree
from migrator.model import Kind, Outcome, ValuesPlan

ITEM = "[]"  # a path segment standing for every item of a list: "ingress.hosts[].paths"
_SHOWN_KEYS = 4

ConversionKind = Literal["strings-to-maps", "map-to-pairs", "string-to-list"]


@dataclass(frozen=True)
class Conversion:
    """A simple rewrapping that gives the fork's value the central shape."""

    kind: ConversionKind
    key: str = ""  # strings-to-maps: the item key each string becomes ("host")
    template: Mapping[str, Any] | None = None  # strings-to-maps: the other keys, from the
    # central default's first item ({"paths": [{"path": "/", ...}]})
    pair: tuple[str, str] = ("name", "value")  # map-to-pairs: the item keys

    def describe(self) -> str:
        if self.kind == "strings-to-maps":
            rest = ", ".join(self.template or {})
            filled = f" with {rest} from the central default's first item" if rest else ""
            return f"each string becomes the `{self.key}` of a map{filled}"
        if self.kind == "map-to-pairs":
            name, value = self.pair
            return f"each key becomes a `{{{name}, {value}}}` item"
        return "the string becomes a one-item list"


@dataclass(frozen=True)
class Mismatch:
    path: tuple[str, ...]  # in the central chart's keys; ITEM for the items of a list
    fork: str  # "a list of strings"
    central: str  # "a list of maps (host, paths)"
    conversion: Conversion | None  # a rule that fits, or None

    @property
    def dotted(self) -> str:
        return ".".join(self.path).replace("." + ITEM, ITEM)

    @property
    def detail(self) -> str:
        return f"{self.fork}; the central chart expects {self.central}"


def values_shape_mismatches(values: ValuesPlan, central: Mapping[str, Any]) -> list[Mismatch]:
    """Every path the migrated values files would hold in another shape than the central
    defaults (the base file, and the base with each environment's file), once each."""
    found: dict[tuple[str, ...], Mismatch] = {}
    written = [values.base, *(tree.merge(values.base, env) for env in values.envs.values())]
    for tree_ in written:
        for m in mismatches(tree_, central):
            found.setdefault(m.path, m)
    return list(found.values())


def mismatches(values: Mapping[str, Any], central: Mapping[str, Any]) -> list[Mismatch]:
    """Mismatches of `values` against `central` (both in the central chart's keys)."""
    found: dict[tuple[str, ...], Mismatch] = {}
    for m in _compare(values, central, ()):
        found.setdefault(m.path, m)
    return list(found.values())


def outcome(found: Sequence[Mismatch]) -> Outcome:
    """The chart's outcome: the first mismatch in words, how many there are in all."""
    first = found[0]
    return Outcome(Kind.VALUES_SHAPE, paths=tuple(m.dotted for m in found),
                   detail=first.detail, count=len(found))


def _compare(fork: Any, central: Any, path: tuple[str, ...]) -> Iterator[Mismatch]:
    if fork is None or central is None or central is tree.MISSING or _empty(fork):
        return
    fk, ck = _kind(fork), _kind(central)
    if fk != ck:
        if fk != "scalar" or ck != "scalar":
            yield _mismatch(fork, central, path)
        return
    if fk == "map":
        for key, value in fork.items():
            yield from _compare(value, central.get(key, tree.MISSING), (*path, str(key)))
    elif fk == "list" and central:
        proto = central[0]
        if any(_kind(item) != _kind(proto) for item in fork if item is not None):
            yield _mismatch(fork, central, path)
            return
        for item in fork:
            yield from _compare(item, proto, (*path, ITEM))


def _mismatch(fork: Any, central: Any, path: tuple[str, ...]) -> Mismatch:
    return Mismatch(path, describe(fork), describe(central, keys=True),
                    conversion(fork, central, path))


def _empty(value: Any) -> bool:
    return isinstance(value, dict | list) and not value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def describe(value: Any, keys: bool = False) -> str:
    """A value's shape in words: "a list of maps (host, paths)", "a bool"."""
    if isinstance(value, dict):
        return f"a map{_keys(value)}" if keys else "a map"
    if isinstance(value, list):
        if not value:
            return "a list"
        kinds = {_scalar_name(item) for item in value}
        if len(kinds) > 1:
            return "a list of mixed items"
        name = kinds.pop()
        shown = _keys(value[0]) if keys and isinstance(value[0], dict) else ""
        return f"a list of {name}s{shown}"
    return f"a {_scalar_name(value)}"


def _scalar_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _keys(value: Mapping[str, Any]) -> str:
    names = [str(k) for k in value]
    if not names:
        return ""
    more = ", ..." if len(names) > _SHOWN_KEYS else ""
    return f" ({', '.join(names[:_SHOWN_KEYS])}{more})"


# --- the rules that fit ------------------------------------------------------------------


def conversion(fork: Any, central: Any, path: Sequence[str]) -> Conversion | None:
    """A simple rewrapping from the fork's shape to the central one, or None."""
    proto = central[0] if isinstance(central, list) and central else None
    if isinstance(fork, list) and isinstance(proto, dict):
        if all(isinstance(item, str | dict) for item in fork):
            key = _string_key(proto, path[-1] if path else "")
            if key is not None:
                return Conversion("strings-to-maps", key,
                                  {k: v for k, v in proto.items() if k != key})
        return None
    if isinstance(fork, dict) and (isinstance(proto, dict) or _container_env(central, path)):
        pair = next((p for p in (("name", "value"), ("key", "value"))
                     if proto is None or set(p) <= set(proto)), None)
        if pair is not None and all(not isinstance(v, dict | list) for v in fork.values()):
            return Conversion("map-to-pairs", pair=pair)
        return None
    if isinstance(fork, str) and isinstance(proto, str):
        return Conversion("string-to-list")
    if isinstance(fork, str) and isinstance(proto, dict):
        key = _string_key(proto, path[-1] if path else "")
        if key is not None:
            return Conversion("strings-to-maps", key,
                              {k: v for k, v in proto.items() if k != key})
    return None


def _container_env(central: Any, path: Sequence[str]) -> bool:
    """An empty default list named like a container's env: Kubernetes gives its items' shape
    (`{name, value}`) where the default does not."""
    name = path[-1].lower() if path else ""
    return central == [] and name.endswith(("env", "envvars"))


def _string_key(proto: Mapping[str, Any], name: str) -> str | None:
    """The item key a string stands for: the one named like the list's singular ("hosts" ->
    "host"), else the only string-valued key of the central default's first item."""
    strings = [k for k, v in proto.items() if isinstance(v, str)]
    singular = name[:-1] if name.endswith("s") else name
    if singular in strings:
        return singular
    return strings[0] if len(strings) == 1 else None
