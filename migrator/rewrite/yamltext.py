"""Line-exact edits of YAML files: positions come from ruamel.yaml, changes are text spans.

Re-dumping a document would re-indent, re-quote and re-flow lines nobody asked to change; editing
the spans ruamel.yaml points at keeps every other byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from migrator.errors import yaml_error
from migrator.locate.refs import fastyaml
from migrator.locate.refs.lenient import load_rt
from migrator.locate.refs.yamlpos import hide_actions
from migrator.rewrite.command import Edit

_PLAIN = re.compile(r"[A-Za-z0-9_./${}][A-Za-z0-9_./:@${}+ -]*")
_VALUE = re.compile(r"^(\s*(?:-\s+)?[^\s:#][^:#]*:[ \t]*)([^#\n]*?)([ \t]*(?:#.*)?)$")


class Lines:
    """A file's text with offsets of its lines (0-based line numbers, as ruamel.yaml gives)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts: list[int] = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line) + 1

    def start(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def end(self, line: int) -> int:
        """Offset just after the newline of `line`."""
        return min(self.start(line) + len(self.lines[line]) + 1, len(self.text))

    def indent(self, line: int) -> int:
        text = self.lines[line]
        return len(text) - len(text.lstrip(" "))

    def block_end(self, key_line: int, key_col: int) -> int:
        """First line after the value of the key at (key_line, key_col): lines that are more
        indented, blank, comments, or `- ` items at the key's own column belong to it."""
        line = key_line + 1
        last = key_line
        while line < len(self.lines):
            text = self.lines[line]
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                line += 1
                continue
            indent = self.indent(line)
            if indent > key_col or (indent == key_col and stripped.startswith("- ")):
                last = line
                line += 1
                continue
            break
        return last + 1


def load(text: str, templated: bool = False, rel: str = "", shape_only: bool = False
         ) -> list[Any]:
    """Round-trip documents, read as leniently as the file's own tool reads it (duplicate keys,
    a tab after a value): the file was accepted when its references were found. A file the
    reader refuses after all (a Go template that is not YAML until rendered) is the rewrite's
    error on that file, not a crash. `shape_only`: plain data will do, read fast."""
    source = hide_actions(text)[0] if templated else text
    try:
        return fastyaml.shape(source) if shape_only else load_rt(source)
    except YAMLError as exc:
        if not templated and "{{" in text:
            return load(text, templated=True, rel=rel, shape_only=shape_only)
        raise yaml_error(rel or "a deploy file", exc) from exc


def find_maps(node: Any) -> Iterator[CommentedMap]:
    if isinstance(node, CommentedMap):
        yield node
        for value in node.values():
            yield from find_maps(value)
    elif isinstance(node, CommentedSeq):
        for value in node:
            yield from find_maps(value)


def map_with_key_on_line(docs: list[Any], key: str, line: int) -> CommentedMap | None:
    """The mapping whose `key` sits on `line` (0-based)."""
    for doc in docs:
        for m in find_maps(doc):
            if key in m and m.lc.key(key)[0] == line:
                return m
    return None


def parent_of(docs: list[Any], child: Any) -> tuple[Any, Any] | None:
    """(container, key or index) holding `child`."""
    for doc in docs:
        for m in find_maps(doc):
            for k, v in m.items():
                if v is child:
                    return m, k
                if isinstance(v, CommentedSeq):
                    for i, item in enumerate(v):
                        if item is child:
                            return v, i
    return None


def scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when that reads back the same, else double-quoted."""
    plain = (
        _PLAIN.fullmatch(value)
        and not value.endswith(" ")
        and ": " not in value
        and value.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~")
        and not re.fullmatch(r"[-+]?[0-9][0-9_.eE+-]*", value)
    )
    return value if plain else json.dumps(value)


def replace_value(lines: Lines, line: int, value: str) -> Edit:
    """Replace the scalar after `key:` on `line`, keeping the key, spacing and any comment."""
    text = lines.lines[line]
    m = _VALUE.match(text)
    if not m:
        raise ValueError(f"no `key: value` on line {line + 1}")
    start = lines.start(line) + m.start(2)
    return Edit(start, start + len(m.group(2)), value)


def replace_key_and_value(lines: Lines, line: int, key: str, value: str) -> Edit:
    text = lines.lines[line]
    m = re.match(r"^(\s*(?:-\s+)?)([^\s:#][^:#]*)(:[ \t]*)([^#\n]*?)([ \t]*(?:#.*)?)$", text)
    if not m:
        raise ValueError(f"no `key: value` on line {line + 1}")
    start = lines.start(line) + m.start(2)
    return Edit(start, lines.start(line) + m.end(4), f"{key}: {value}")


def insert_lines_after(lines: Lines, line: int, new: list[str]) -> Edit:
    at = lines.end(line)
    prefix = "" if lines.text[at - 1 : at] == "\n" or at == 0 else "\n"
    return Edit(at, at, prefix + "".join(x + "\n" for x in new))


def delete_lines(lines: Lines, first: int, end: int) -> Edit:
    return Edit(
        lines.start(first), lines.start(end) if end < len(lines.lines) else len(lines.text), ""
    )


def sequence_edits(
    lines: Lines, seq: CommentedSeq, new_items: list[str], key_line: int
) -> list[Edit]:
    """Replace a sequence of one-line scalars by `new_items` (already YAML scalars)."""
    if seq.fa.flow_style() or not len(seq):
        return [replace_value(lines, key_line, "[" + ", ".join(new_items) + "]")]
    rows = [seq.lc.item(i) for i in range(len(seq))]
    if any(isinstance(seq[i], (dict, list)) for i in range(len(seq))):
        raise ValueError("a values list holding inline values")
    edits: list[Edit] = []
    for index, (row, col) in enumerate(rows):
        if index < len(new_items):
            text = lines.lines[row]
            rest = text[col:]
            m = re.match(r"([^#\n]*?)([ \t]*(?:#.*)?)$", rest)
            assert m is not None
            start = lines.start(row) + col
            edits.append(Edit(start, start + len(m.group(1)), new_items[index]))
        else:
            edits.append(delete_lines(lines, row, row + 1))
    if len(new_items) > len(rows) and rows:
        row, col = rows[-1]
        dash = lines.lines[row][:col]
        edits.append(
            insert_lines_after(lines, row, [dash + item for item in new_items[len(rows) :]])
        )
    return edits
