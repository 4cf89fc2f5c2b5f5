"""Load YAML into plain data whose strings remember the file and line they were written on.

Deploy files share YAML structure across places (anchors, merge keys, GitLab `extends:` and
`!reference`), and a reference must be reported, and later edited, where its text is written, not
where it is used. So every string becomes a `Located` (a `str` that carries its origin) before any
merging happens; merging then moves origins around for free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from migrator.errors import RepoError
from migrator.locate.refs import fastyaml
from migrator.locate.refs.lenient import Consumer, load_lenient
from migrator.locate.refs.located import Located as Located
from migrator.locate.refs.located import Tagged as Tagged
from migrator.locate.refs.walk import inside
from migrator.model import Notice
from migrator.yamlguard import YamlLimitError, refused


@dataclass(frozen=True)
class YamlFile:
    """A deploy file's documents (strings as `Located`) and what was odd in reading it."""

    docs: list[Any]
    notices: tuple[Notice, ...] = ()


def load_documents(root: Path, rel: str, consumer: Consumer, templated: bool = False
                   ) -> YamlFile:
    """Every YAML document of `root/rel`, read as `consumer` reads it, strings as `Located`.
    Raises RepoError when unreadable (not text, too big, outside the repo, malformed).

    `templated` files (helmfiles) may hold Go template actions: `{{ ... }}` is parsed as an opaque
    string and given back verbatim; a line holding only actions (`{{- if ... }}`) is skipped.
    """
    text = read_text(root, rel)
    if not templated:
        return load_text(text, rel, consumer)
    hidden, actions = hide_actions(text)
    loaded = load_text(hidden, rel, consumer)
    return YamlFile([_restore(doc, actions) for doc in loaded.docs], loaded.notices)


def read_text(root: Path, rel: str) -> str:
    """The text of a deploy file, refused (RepoError) when it cannot be read as one."""
    path = inside(root, rel)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RepoError("not a UTF-8 text file (binary?)", file=rel) from exc
    except OSError as exc:
        raise RepoError(f"cannot read: {exc.strerror or exc}", file=rel) from exc


def hide_actions(text: str) -> tuple[str, list[str]]:
    """Go template actions replaced by `__tplN__` (lines keep their numbers), and the actions."""
    actions: list[str] = []

    def hide(match: re.Match[str]) -> str:
        actions.append(match.group(0))
        return f"__tpl{len(actions) - 1}__"

    lines = [
        "#" if _ACTION_LINE.fullmatch(line) else _ACTION.sub(hide, line)
        for line in text.split("\n")
    ]
    return "\n".join(lines), actions


_ACTION = re.compile(r"\{\{.*?\}\}")
_ACTION_LINE = re.compile(r"\s*(\{\{.*?\}\}\s*)+")
_HIDDEN = re.compile(r"__tpl(\d+)__")


def _restore(node: Any, actions: list[str]) -> Any:
    if isinstance(node, Located):
        text = _HIDDEN.sub(lambda m: actions[int(m.group(1))], str(node))
        return Located(text, node.file, node.line, node.style)
    if isinstance(node, dict):
        return {_restore(k, actions): _restore(v, actions) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v, actions) for v in node]
    return node


def load_text(text: str, rel: str, consumer: Consumer) -> YamlFile:
    """`load_documents` for text already in memory (`rel` names it in positions and errors).

    Read through libyaml when it gives the very same data (`fastyaml`), else round trip."""
    try:
        fast = fastyaml.load(text, rel, consumer)
    except YamlLimitError as exc:
        raise refused(rel, exc) from exc
    if fast is not None:
        return YamlFile(*fast)
    return round_trip_text(text, rel, consumer)


def round_trip_text(text: str, rel: str, consumer: Consumer) -> YamlFile:
    """`load_text` through ruamel.yaml's round-trip reader, always."""
    loaded = load_lenient(text, rel, consumer)
    return YamlFile([_convert(doc, rel, 0, text) for doc in loaded.docs], loaded.notices)


def _style(value: Any) -> str:
    if isinstance(value, LiteralScalarString):
        return "literal"
    if isinstance(value, FoldedScalarString):
        return "folded"
    return "plain"


def _convert(node: Any, rel: str, line: int, text: str) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            out[_plain_key(key)] = _convert(value, rel, _key_line(node, key), text)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            item_line = _item_line(node, index, line)
            items.append(_convert(value, rel, item_line, text))
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag and tag.startswith("!") and tag != "!!seq":
            return Tagged(tag, tuple(items), rel, node.lc.line + 1)
        return items
    if isinstance(node, str):
        return Located(str(node), rel, line, _style(node))
    return node


def _item_line(node: CommentedSeq, index: int, default: int) -> int:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (KeyError, TypeError, IndexError):
        return default


def _plain_key(key: Any) -> Any:
    return str(key) if isinstance(key, str) else key


def _key_line(node: CommentedMap, key: Any) -> int:
    """1-based line of the value of `key`, looking through merge keys (`<<: *anchor`)."""
    if key in (node.lc.data or {}):  # no data: a map ruamel.yaml made up for merges
        return int(node.lc.value(key)[0]) + 1
    for entry in getattr(node, "merge", []) or []:
        # ruamel.yaml has stored merge sources both bare and as (position, map) pairs
        source = entry[1] if isinstance(entry, tuple) else entry
        if isinstance(source, CommentedMap) and key in source:
            return _key_line(source, key)
    return int(node.lc.line) + 1
