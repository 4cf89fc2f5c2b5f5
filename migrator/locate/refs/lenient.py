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

Each leniency used is returned as a `Notice(LENIENT)` at the line it was met. A document that
would cost far more to read than its size (an alias bomb, thousands of nested brackets) is refused
(`yamlguard`), naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from migrator.errors import RepoError, yaml_error
from migrator.model import Notice, NoticeKind
from migrator.ruamelyaml import YAML
from migrator.yamlguard import GuardedComposer, YamlLimitError, refused

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
class Odd:
    """A key a stricter reader would refuse: written twice in one map, or a second `<<`."""

    line: int  # 1-based, in the text
    key: str
    first: int  # line of the first occurrence
    merge: bool


@dataclass(frozen=True)
class Key:
    """What deciding between a map's keys needs to know of one key."""

    ident: tuple[str, str] | None  # (tag, text as written) of a scalar key; None: another key
    line: int  # 1-based
    merge: bool  # `<<`


def load_lenient(text: str, rel: str, consumer: Consumer) -> Lenient:
    """Every document of `text`, read as `consumer` reads it. Raises RepoError (naming file and
    line) for what the consumer refuses too, and for a document past `yamlguard`'s limits."""
    try:
        return _load(text, rel, consumer, ())
    except YamlLimitError as exc:
        raise refused(rel, exc) from exc
    except YAMLError as exc:
        if not _is_tab_error(exc):
            raise yaml_error(rel, exc) from exc
        untabbed, lines = untab(text)
        if not lines:
            raise yaml_error(rel, exc) from exc
        try:
            return _load(untabbed, rel, consumer, lines)
        except YamlLimitError as again:
            raise refused(rel, again) from again
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
    odd: list[Odd] = []
    docs = _parse(text, odd)
    return Lenient(docs, notices(odd, rel, consumer, tabs))


def notices(odd: list[Odd], rel: str, consumer: Consumer, tabs: tuple[int, ...] = ()
            ) -> tuple[Notice, ...]:
    """The leniencies used in reading `rel`, in line order; RepoError at the first key the
    consumer refuses."""
    found = [Notice(NoticeKind.LENIENT, f"a tab after the value: {consumer.name} skips it",
                    rel, line) for line in tabs]
    for o in odd:
        if not consumer.duplicate_keys:
            raise RepoError(f"duplicate key `{o.key}` (first at line {o.first}): "
                            f"{consumer.name} refuses it too", file=rel, line=o.line)
        found.append(Notice(NoticeKind.LENIENT, _odd_words(o, consumer), rel, o.line))
    return tuple(sorted(set(found), key=lambda n: (n.line or 0, n.detail)))


def _odd_words(o: Odd, consumer: Consumer) -> str:
    if o.merge:
        return (f"duplicate merge key `<<` (first at line {o.first}): {consumer.name} merges "
                "both, the later one winning")
    return f"duplicate key `{o.key}` (first at line {o.first}): {consumer.name} uses the last one"


def _parse(text: str, odd: list[Odd]) -> list[Any]:
    class _Constructor(RoundTripConstructor):
        def flatten_mapping(self, node: Any) -> Any:
            _dedupe(node, odd)
            return super().flatten_mapping(node)

    yaml = YAML(typ="rt")
    yaml.Composer = GuardedComposer
    yaml.Constructor = _Constructor
    return list(yaml.load_all(text))


def plan_keys(keys: list[Key], odd: list[Odd]) -> tuple[list[int], list[int]]:
    """How a map with these keys is read: the indexes of the entries kept, in order (of a key
    written twice, the last; of several `<<`, the first, standing for all), and the indexes of
    the `<<` entries in the order their maps merge (YAML lets an earlier map win, so a later
    `<<` goes first). Records each `Odd`."""
    last: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], int] = {}
    merges = [i for i, k in enumerate(keys) if k.merge]
    for i, key in enumerate(keys):
        if key.ident is not None and not key.merge:
            if key.ident in last:
                odd.append(Odd(key.line, key.ident[1], first[key.ident], merge=False))
            else:
                first[key.ident] = key.line
            last[key.ident] = i
    for i in merges[1:]:
        odd.append(Odd(keys[i].line, "<<", keys[merges[0]].line, merge=True))
    keep = [i for i, key in enumerate(keys)
            if (key.ident is None and not key.merge) or (key.merge and i == merges[0])
            or (key.ident is not None and not key.merge and last[key.ident] == i)]
    return keep, merges[::-1] if len(merges) > 1 else merges


def _dedupe(node: MappingNode, odd: list[Odd]) -> None:
    """Leave one pair per key (the last) and at most one merge key (all merges, later first)."""
    pairs = list(node.value)
    keys = [Key((str(k.tag), str(k.value)) if isinstance(k, ScalarNode) else None,
                k.start_mark.line + 1, k.tag == _MERGE) for k, _ in pairs]
    keep, merges = plan_keys(keys, odd)
    if len(merges) > 1:
        maps: list[Any] = []
        for i in merges:
            value = pairs[i][1]
            maps.extend(value.value if isinstance(value, SequenceNode) else [value])
        head = min(merges)
        head_value = pairs[head][1]
        pairs[head] = (pairs[head][0], SequenceNode(_SEQ, maps, head_value.start_mark,
                                                    head_value.end_mark, flow_style=True))
    if len(keep) != len(pairs):
        node.value = [pairs[i] for i in keep]
    elif len(merges) > 1:
        node.value = pairs


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
