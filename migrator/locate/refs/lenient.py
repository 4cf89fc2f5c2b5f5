"""YAML read the way the program that runs it reads it, and what was odd about it.

ruamel.yaml is stricter than the parsers deploy files are written for. Two leniencies matter on
real repositories:

* **Duplicate keys.** GitLab reads CI files with Ruby's Psych, which keeps the last value of a
  repeated key and applies every `<<` merge key in turn, a later one overriding an earlier one
  (psych `ToRuby#revive_hash`: `hash[key] = val`, `hash.merge! val`). Helm reads Chart.yaml and
  values with go-yaml v2, also last one wins. helmfile (go-yaml v3 since 0.149: "mapping key
  already defined"), Task, Argo CD, skaffold and GitHub Actions refuse them: there a duplicate
  key stays an error (and for CircleCI, whose parser was not checked).
* **Tabs after a value.** libyaml (behind Psych), its Go ports and YamlDotNet skip a tab where a
  simple key cannot start (after a scalar on the same line); PyYAML's scanner, which ruamel.yaml
  inherits, skips only spaces and fails with "found character '\\t' that cannot start any token".
  A tab at the start of a line or right after `:`/`-` is refused by all of them, so only tabs
  after content are forgiven.

Each leniency used is returned as a `Notice(LENIENT)` at the line it was met.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from migrator.errors import RepoError, yaml_error
from migrator.model import Notice, NoticeKind

_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"


@dataclass(frozen=True)
class Consumer:
    """Who reads a file, and whether it accepts duplicate keys (last one wins)."""

    name: str
    duplicate_keys: bool


GITLAB = Consumer("GitLab", duplicate_keys=True)
HELM = Consumer("Helm", duplicate_keys=True)
HELMFILE = Consumer("helmfile", duplicate_keys=False)
ARGOCD = Consumer("Argo CD", duplicate_keys=False)
SKAFFOLD = Consumer("skaffold", duplicate_keys=False)
GITHUB = Consumer("GitHub Actions", duplicate_keys=False)
TASK = Consumer("Task", duplicate_keys=False)  # go-yaml v3, as helmfile
CIRCLECI = Consumer("CircleCI", duplicate_keys=False)  # not checked: refused to be safe


@dataclass(frozen=True)
class Lenient:
    docs: list[Any]  # ruamel.yaml round-trip documents
    notices: tuple[Notice, ...]


@dataclass(frozen=True)
class _Odd:
    line: int  # 1-based, in the text
    key: str
    first: int  # line of the first occurrence
    merge: bool


def load_lenient(text: str, rel: str, consumer: Consumer) -> Lenient:
    """Every document of `text`, read as `consumer` reads it. Raises RepoError (naming file and
    line) for what the consumer refuses too."""
    try:
        return _load(text, rel, consumer, ())
    except YAMLError as exc:
        if not _is_tab_error(exc):
            raise yaml_error(rel, exc) from exc
        untabbed, lines = untab(text)
        if not lines:
            raise yaml_error(rel, exc) from exc
        try:
            return _load(untabbed, rel, consumer, lines)
        except YAMLError as again:
            raise yaml_error(rel, again) from again


def load_rt(text: str) -> list[Any]:
    """Round-trip documents for an edit, read with every leniency (the file was already accepted
    when its references were found)."""
    try:
        return _parse(text, [])
    except YAMLError as exc:
        if not _is_tab_error(exc):
            raise
        return _parse(untab(text)[0], [])


def _load(text: str, rel: str, consumer: Consumer, tabs: tuple[int, ...]) -> Lenient:
    odd: list[_Odd] = []
    docs = _parse(text, odd)
    notices = [Notice(NoticeKind.LENIENT, f"a tab after the value: {consumer.name} skips it",
                      rel, line) for line in tabs]
    for o in odd:
        if not consumer.duplicate_keys:
            raise RepoError(f"duplicate key `{o.key}` (first at line {o.first}): "
                            f"{consumer.name} refuses it too", file=rel, line=o.line)
        notices.append(Notice(NoticeKind.LENIENT, _odd_words(o, consumer), rel, o.line))
    return Lenient(docs, tuple(sorted(set(notices), key=lambda n: (n.line or 0, n.detail))))


def _odd_words(o: _Odd, consumer: Consumer) -> str:
    if o.merge:
        return (f"duplicate merge key `<<` (first at line {o.first}): {consumer.name} merges "
                "both, the later one winning")
    return f"duplicate key `{o.key}` (first at line {o.first}): {consumer.name} uses the last one"


def _parse(text: str, odd: list[_Odd]) -> list[Any]:
    class _Constructor(RoundTripConstructor):
        def flatten_mapping(self, node: Any) -> Any:
            _dedupe(node, odd)
            return super().flatten_mapping(node)

    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return list(yaml.load_all(text))


def _dedupe(node: MappingNode, odd: list[_Odd]) -> None:
    """Leave one pair per key (the last) and at most one merge key (all merges, later first)."""
    pairs = list(node.value)
    last: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], int] = {}
    merges = [i for i, (k, _) in enumerate(pairs) if k.tag == _MERGE]
    for i, (key, _) in enumerate(pairs):
        if isinstance(key, ScalarNode) and key.tag != _MERGE:
            ident = (str(key.tag), str(key.value))
            if ident in last:
                odd.append(_Odd(key.start_mark.line + 1, str(key.value),
                                first[ident], merge=False))
            else:
                first[ident] = key.start_mark.line + 1
            last[ident] = i
    keep = [
        pair for i, pair in enumerate(pairs)
        if not isinstance(pair[0], ScalarNode) or pair[0].tag == _MERGE
        or last[(str(pair[0].tag), str(pair[0].value))] == i
    ]
    if len(merges) > 1:
        first_line = pairs[merges[0]][0].start_mark.line + 1
        for i in merges[1:]:
            odd.append(_Odd(pairs[i][0].start_mark.line + 1, "<<", first_line, merge=True))
        # YAML's merge sequence lets an earlier map win: the later merge goes first.
        maps: list[Any] = []
        for i in reversed(merges):
            value = pairs[i][1]
            maps.extend(value.value if isinstance(value, SequenceNode) else [value])
        head_key, head_value = pairs[merges[0]]
        combined = SequenceNode(_SEQ, maps, head_value.start_mark, head_value.end_mark,
                                flow_style=True)
        dropped = {id(pairs[i][0]) for i in merges[1:]}
        keep = [(head_key, combined) if k is head_key else (k, v)
                for k, v in keep if id(k) not in dropped]
    if len(keep) != len(pairs) or len(merges) > 1:
        node.value = keep


def _is_tab_error(exc: YAMLError) -> bool:
    return "'\\t'" in str(getattr(exc, "problem", "") or "")


_AFTER_CONTENT_TAB = re.compile(r"(?<=[^\s])([ \t]*\t[ \t]*)(?=#|$)")
_INDICATOR_END = re.compile(r"(^|\s)[-?]$|:$")


def untab(text: str) -> tuple[str, tuple[int, ...]]:
    """`text` with tabs after a value (before the line end or a comment) turned into spaces of
    the same length, so positions keep; and the 1-based lines changed."""
    out: list[str] = []
    changed: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _AFTER_CONTENT_TAB.search(line)
        if match and "\t" in match.group(1) and not _INDICATOR_END.search(line[: match.start()]):
            line = line[: match.start()] + " " * len(match.group(1)) + line[match.end():]
            changed.append(number)
        out.append(line)
    return "\n".join(out), tuple(changed)
