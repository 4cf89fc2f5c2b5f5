"""Deploy YAML read through libyaml: the same data as the round-trip reader, many times faster.

ruamel.yaml's round trip reads about 100 KB a second, so a 740 KB CI file of 10,000 jobs took
most of a minute before a single command was looked at. libyaml (in C, behind PyYAML, and the
parser GitLab's own Psych is built on) gives the same document as events in a fraction of that,
and this module builds from them exactly what `yamlpos` builds from ruamel.yaml's documents:
scalars resolved by ruamel.yaml's resolver (YAML 1.2: `on` is a string) and constructed by its
constructor, keys decided by `lenient.plan_keys`, merge keys merged as ruamel.yaml merges them,
strings as `Located` at the line of their node, tagged sequences as `Tagged`.

Where it could not promise that, it answers None and the round-trip reader reads the file: a
tab after a value (that reader's leniency and its notices), an explicit tag other than a local
one on a sequence, a directive, a key that is not a scalar or that two spellings make equal, a
merge of something other than maps, a duplicate key a strict consumer refuses (so that the error
names the same key), and anything libyaml refuses (so that the error is worded the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml as pyyaml
from ruamel.yaml.nodes import ScalarNode

from migrator.locate.refs.lenient import (
    GITLAB,
    Consumer,
    Key,
    Odd,
    load_rt,
    notices,
    plan_keys,
    untab,
)
from migrator.locate.refs.located import Located, Tagged
from migrator.model import Notice
from migrator.ruamelyaml import YAML
from migrator.yamlguard import Budget, libyaml_limit

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"  # `=`: ruamel.yaml reads it as a string key only
_STYLES = {"|": "literal", ">": "folded"}
_LOCAL_TAG = re.compile(r"![A-Za-z0-9_.-]+")
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)


class _Unsure(Exception):
    """The round-trip reader may read this differently: let it."""


def load(text: str, rel: str, consumer: Consumer
         ) -> tuple[list[Any], tuple[Notice, ...]] | None:
    """The documents of `text` and the leniencies used, as `yamlpos.load_text` gives them from
    the round-trip reader; None when only that reader can say. Raises YamlLimitError for a
    document past `yamlguard`'s limits, RepoError for a key `consumer` refuses."""
    if not pyyaml.__with_libyaml__ or "!!" in text or "!<" in text \
            or _DIRECTIVE.search(text) or ("\t" in text and untab(text)[1]):
        return None
    odd: list[Odd] = []
    try:
        docs = _Builder(rel, odd).documents(pyyaml.parse(text, Loader=pyyaml.CSafeLoader))
    except pyyaml.YAMLError as exc:
        too_far = libyaml_limit(exc)
        if too_far is not None:
            raise too_far from exc
        return None
    except _Unsure:
        return None
    if odd and not consumer.duplicate_keys:
        return None
    return docs, notices(odd, rel, consumer)


def shape(text: str) -> list[Any]:
    """The documents of `text` as plain data, for a look at their shape only (no comments):
    read fast when that gives what the round-trip reader would, else round trip."""
    fast = load(text, "", GITLAB)  # every leniency, as `load_rt`
    return [_untagged(doc) for doc in fast[0]] if fast is not None else load_rt(text)


def _untagged(node: Any) -> Any:
    """A tagged sequence as the list it is to the round-trip reader."""
    if isinstance(node, Tagged):
        return [_untagged(v) for v in node.items]
    if isinstance(node, dict):
        return {k: _untagged(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_untagged(v) for v in node]
    return node


@dataclass
class _Scalar:
    """What a key needs of the scalar node it was read from."""

    tag: str
    text: str
    line: int  # 1-based


@dataclass
class _Collection:
    start: Any  # the start event
    is_map: bool
    items: list[Any] = field(default_factory=list)  # values; for a map, key and value in turn
    keys: list[_Scalar] = field(default_factory=list)  # a map's keys, as written


class _Builder:
    def __init__(self, rel: str, odd: list[Odd]) -> None:
        self.rel = rel
        self.odd = odd
        self._yaml = YAML(typ="rt")
        self._resolved: dict[str, str] = {}
        self._constructed: dict[tuple[str, str, bool], Any] = {}

    def documents(self, events: Any) -> list[Any]:
        docs: list[Any] = []
        stack: list[_Collection] = []
        anchors: dict[str, tuple[Any, _Scalar | None]] = {}
        budget = Budget()
        root: list[Any] = []
        for event in events:
            kind = type(event)
            if kind is pyyaml.ScalarEvent:
                budget.leaf(event.anchor, event.start_mark)
                value, scalar = self._scalar(event)
            elif kind is pyyaml.SequenceEndEvent or kind is pyyaml.MappingEndEvent:
                done = stack.pop()
                budget.close(done.start.start_mark)
                value, scalar = self._finish(done), None
                event = done.start
            elif kind is pyyaml.SequenceStartEvent or kind is pyyaml.MappingStartEvent:
                budget.open(event.anchor, event.start_mark)
                is_map = kind is pyyaml.MappingStartEvent
                if event.tag is not None and (is_map or not _LOCAL_TAG.fullmatch(event.tag)):
                    raise _Unsure
                stack.append(_Collection(event, is_map))
                continue
            elif kind is pyyaml.AliasEvent:
                budget.alias(event.anchor, event.start_mark)  # one inside its node raises
                if event.anchor not in anchors:
                    raise _Unsure  # undefined: the round-trip reader words the error
                value, scalar = anchors[event.anchor]
            elif kind is pyyaml.DocumentStartEvent:
                stack, anchors, budget, root = [], {}, Budget(), []
                continue
            elif kind is pyyaml.DocumentEndEvent:
                docs.append(_root(root[0]) if root else None)
                continue
            else:
                continue  # stream start and end
            if kind is not pyyaml.AliasEvent and event.anchor is not None:
                anchors[event.anchor] = (value, scalar)
            if not stack:
                root.append(value)
                continue
            parent = stack[-1]
            if parent.is_map and len(parent.items) % 2 == 0:
                if scalar is None:
                    raise _Unsure  # a key that is a map or a list
                parent.keys.append(scalar)
            parent.items.append(value)
        return docs

    def _scalar(self, event: Any) -> tuple[Any, _Scalar]:
        line = event.start_mark.line + 1
        if event.tag is not None:
            raise _Unsure  # a tagged scalar: ruamel.yaml keeps it as a TaggedScalar
        text: str = event.value
        tag = self._resolve(text) if not event.style else _STR
        scalar = _Scalar(tag, text, line)
        if tag == _STR:
            return Located(text, self.rel, line, _STYLES.get(event.style, "plain")), scalar
        if tag == _VALUE:
            raise _Unsure
        key = (tag, text, event.anchor is not None)
        if key not in self._constructed:
            node = ScalarNode(tag, text, None, None, style=None, anchor=event.anchor)
            self._constructed[key] = self._yaml.constructor.construct_object(node, deep=True)
        return self._constructed[key], scalar

    def _resolve(self, text: str) -> str:
        tag = self._resolved.get(text)
        if tag is None:
            if text and text[0] not in _FIRST:
                tag = _STR
            else:
                tag = str(self._yaml.resolver.resolve(ScalarNode, text, (True, False)))
            self._resolved[text] = tag
        return tag

    def _finish(self, done: _Collection) -> Any:
        start = done.start
        if isinstance(start, pyyaml.SequenceStartEvent):
            if start.tag is not None:
                return Tagged(start.tag, tuple(done.items), self.rel, start.start_mark.line + 1)
            return done.items
        keys = [Key((k.tag, k.text), k.line, k.tag == _MERGE) for k in done.keys]
        keep, merges = plan_keys(keys, self.odd)
        out: dict[Any, Any] = {}
        for i in keep:
            if keys[i].merge:
                continue
            key = done.items[2 * i]
            if key in out:
                raise _Unsure  # equal once read (`1` and `01`): ruamel.yaml refuses it
            out[str(key) if isinstance(key, str) else key] = done.items[2 * i + 1]
        for source in self._merged(done, merges):
            for key, value in source.items():
                out.setdefault(key, value)
        return out

    def _merged(self, done: _Collection, merges: list[int]) -> list[dict[Any, Any]]:
        """The maps merged in, in the order they merge: each must be a map, or a list of maps."""
        sources: list[dict[Any, Any]] = []
        for i in merges:
            value = done.items[2 * i + 1]
            for source in value if isinstance(value, list) else [value]:
                if not isinstance(source, dict):
                    raise _Unsure  # ruamel.yaml refuses it, in its words
                sources.append(source)
        return sources


def _root(value: Any) -> Any:
    """A document that is one string is at line 0, as the round-trip reader gives it."""
    if isinstance(value, Located):
        return Located(str(value), value.file, 0, value.style)
    return value


_FIRST = frozenset(k for k in YAML(typ="rt").resolver.versioned_resolver if k)
