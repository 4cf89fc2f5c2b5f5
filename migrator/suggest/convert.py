"""The Python source of a suggested `convert` rule's function.

The function is plain code the platform team reads and may edit: it leaves a value that already
has the central shape as it is (so it can run on every fork of the family), and it is annotated
with `object` so that the module needs no import for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from migrator.values.shapes import ITEM, Conversion

LINE_LENGTH = 100
_INDENT = "    "


def function_name(source: str, within: Sequence[str], taken: set[str]) -> str:
    """`ingress.hosts` + `[].paths` -> `ingress_hosts_paths_reshaped` (unique in `taken`)."""
    words = [w for w in (*source.split("."), *within) if w != ITEM]
    base = _identifier("_".join(words))
    if base[0].isdigit():
        base = f"v_{base}"
    name = f"{base}_reshaped"
    n = 2
    while name in taken:
        name, n = f"{base}_reshaped_{n}", n + 1
    return name


def function_source(name: str, dotted: str, conversion: Conversion,
                    within: Sequence[str]) -> str:
    """A module-level function: the rewrapping of the value at `within` below the rule's
    source (each list item for `[]`, a key of a map otherwise)."""
    doc = _docstring(f"`{dotted}`: {conversion.describe()}. Suggested by "
                     "`migrator mappings suggest`; a value in the central shape stays as it is.")
    lines = [f"def {name}(value: object) -> object:", *doc]
    if not within:
        lines += _leaf(conversion, _INDENT)
        return "\n".join(lines) + "\n"
    lines += ["", f"{_INDENT}def reshaped(value: object) -> object:",
              *_leaf(conversion, _INDENT * 2)]
    inner, taken = "reshaped", {"reshaped"}
    for segment in reversed(within):
        outer = "each_item" if segment == ITEM else f"in_{_identifier(segment)}"
        while outer in taken:
            outer = f"{outer}_"
        taken.add(outer)
        lines += ["", f"{_INDENT}def {outer}(value: object) -> object:"]
        if segment == ITEM:
            lines += [f"{_INDENT * 2}if isinstance(value, list):",
                      f"{_INDENT * 3}return [{inner}(item) for item in value]",
                      f"{_INDENT * 2}return value"]
        else:
            key = json.dumps(segment, ensure_ascii=False)
            lines += [f"{_INDENT * 2}if isinstance(value, dict) and {key} in value:",
                      f"{_INDENT * 3}return {{**value, {key}: {inner}(value[{key}])}}",
                      f"{_INDENT * 2}return value"]
        inner = outer
    lines += ["", f"{_INDENT}return {inner}(value)"]
    return "\n".join(lines) + "\n"


def _identifier(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower() or "key"


def _leaf(conversion: Conversion, indent: str) -> list[str]:
    if conversion.kind == "string-to-list":
        return [f"{indent}return [value] if isinstance(value, str) else value"]
    if conversion.kind == "map-to-pairs":
        name, value = (json.dumps(k) for k in conversion.pair)
        return [f"{indent}if not isinstance(value, dict):",
                f"{indent}{_INDENT}return value",
                f"{indent}return [{{{name}: key, {value}: item}} for key, item in value.items()]"]
    key = json.dumps(conversion.key, ensure_ascii=False)
    others = literal(dict(conversion.template or {}), len(indent), len(indent) + len("others = "))
    return [f"{indent}if isinstance(value, str):",
            f"{indent}{_INDENT}value = [value]",
            f"{indent}if not isinstance(value, list):",
            f"{indent}{_INDENT}return value",
            f"{indent}others = {others}",
            f"{indent}return [{{{key}: item, **others}} if isinstance(item, str) else item",
            f"{indent}        for item in value]"]


def _docstring(text: str) -> list[str]:
    words = text.split()
    lines: list[str] = []
    current = f'{_INDENT}"""'
    for word in words:
        if len(current) + len(word) + 1 > LINE_LENGTH - 3 and current.strip('" '):
            lines.append(current)
            current = _INDENT
        current += ("" if current.endswith(('"""', _INDENT)) else " ") + word
    lines.append(current + '"""')
    return lines


def literal(value: Any, indent: int = 0, column: int = 0) -> str:
    """A Python literal of plain YAML data that starts at `column` of a line indented by
    `indent`: on one line when it fits, else one item a line, indented under that line."""
    flat = _flat(value)
    if column + len(flat) <= LINE_LENGTH or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + len(_INDENT)
    pad = " " * inner
    if isinstance(value, dict):
        items = [f"{_flat(k)}: {literal(v, inner, inner + len(_flat(k)) + 2)}"
                 for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        items = [literal(v, inner, inner) for v in value]
        opening, closing = "[", "]"
    body = "".join(f"\n{pad}{item}," for item in items)
    return f"{opening}{body}\n{' ' * indent}{closing}"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)  # numbers, True/False, None
