"""Write the migrated values files by editing the fork's own files (ruamel.yaml round trip).

The fork's values.yaml is the starting point: keys the plan does not keep are removed, renamed keys
move (with their comments), values the plan changes are set in place, and what the plan adds
(identity, pinned metadata, repairs) is inserted with a short comment saying why. Comment lines
written above a key stay above it, even when the key before it is removed.

Files are read as Helm reads them: a key written twice keeps its last value (the earlier one is
left out, with the comment lines above it), and the file keeps its line endings.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml as pyyaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tokens import CommentToken

from migrator import tree
from migrator.mapping import Rule
from migrator.model import ValueDecision
from migrator.ruamelyaml import YAML
from migrator.yamlguard import GuardedComposer

_WHY = {
    "identity": "migrator: keeps resource names and selector labels",
    "metadata": "migrator: the fork's appVersion",
    "repair": "migrator: was hard-coded in a template",
    "inherited-pinned": "migrator: inherited default, pinned",
}


def _yaml() -> YAML:
    y = YAML()
    y.Composer = _LastKeyWins
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


# --- read as Helm reads ------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    """A key written more than once in one map: Helm keeps the last value."""

    path: str  # dotted path of the key
    line: int  # 1-based line of the occurrence Helm uses (the last)
    earlier: tuple[int, ...]  # lines of the occurrences Helm ignores


@dataclass(frozen=True)
class KeyLines:
    """Where each key of a values file is written, as Helm reads it."""

    lines: dict[str, int]  # dotted path ("[]" for list items) -> 1-based line Helm uses
    duplicates: tuple[Duplicate, ...]  # keys written twice in one map, in file order


@dataclass(frozen=True)
class Entries:
    """Where each top-level entry of a plain values file (`_plain_reading`) is written: its
    key's line, and the last line of its value that is not a comment or blank (0-based)."""

    keys: tuple[str, ...]
    first: tuple[int, ...]
    last: tuple[int, ...]
    # the value ends with a flow collection inside a block list (`- {}`, `- a: []`), or with
    # one followed by a comment on its line (`a: []  # none`)
    flow_end: tuple[bool, ...]

    def without_others(self, text: str, kept: Collection[str]) -> str:
        """`text` without the top-level entries not in `kept` but the first and the last. An
        entry goes with the comment and blank lines above it (up to the previous entry's last
        line), which is what the edit drops with its key; those below it stay, above the next
        key, whose comment they are. The edit of the rest is the edit of the whole file.

        Not next to a flow collection that ends a block list (`- {}`, `- a: []`), or that a
        comment follows on its line: ruamel.yaml keeps the lines after the one at the list's
        end, and the comment with the lines below it, where the edit does not read them as it
        reads the lines after another value; so an entry that ends with one, or follows one,
        stays. (The lines after any other flow collection are kept above the next key, which
        the edit reads as that key's own lines.)"""
        lines = text.splitlines(keepends=True)
        out = lines[: self.last[0] + 1]
        before = 0  # the entry the next one kept follows
        for i in range(1, len(self.keys)):
            if i == len(self.keys) - 1 or self.keys[i] in kept or self.flow_end[i] \
                    or self.flow_end[before]:
                out += lines[self.last[i - 1] + 1: self.last[i] + 1]
                before = i
        return "".join(out + lines[self.last[-1] + 1:])


@dataclass(frozen=True)
class Reading:
    """A values file as this tool reads it: where its keys are, and, for a file a migrated one is
    edited from, why the round-trip reader refuses it (it is then written anew). `entries`: where
    each top-level entry of a plain file is (`_plain_reading`); None for any other."""

    keys: KeyLines
    problem: str | None = None
    entries: Entries | None = None


def read(text: str, *, edited: bool) -> Reading:
    """The reading of a values file; one that does not parse has no key lines (whoever reads its
    values reports that). A plain file (`_plain_reading`) is read by libyaml; any other file a
    migrated one is `edited` from is read round trip once, and the edit (`render_values`) takes
    that document; the others are only composed."""
    if edited:
        return _READINGS.reading(text)
    known = _READINGS.peek(text)  # read already: the same keys, at no cost
    if known is not None:
        return Reading(known.keys)
    plain = _plain_reading(text)
    return Reading(plain.keys if plain is not None else _composed_key_lines(text))


# --- plain files, read by libyaml --------------------------------------------------------------
# ruamel.yaml's round trip reads a 150-line values file in about 8 ms, and a migrated file keeps
# a few of its keys. A plain file (below) is read by libyaml instead, which gives the same key
# lines in a fraction of that, and the edit reads round trip only the entries it can keep
# (`Entries.without_others`), which is the same edit. Plain: one implicit document, a block map
# at its root whose keys start lines at column 0; no anchor, alias, tag, merge key, key written
# twice, block scalar, directive, tab, CR, BOM or Unicode line break; every key a scalar on one
# line. Anything else is read round trip, as before.

_NOT_PLAIN = ("\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff")
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)
_COLLECTION_STARTS = (pyyaml.MappingStartEvent, pyyaml.SequenceStartEvent)
_COLLECTION_ENDS = (pyyaml.MappingEndEvent, pyyaml.SequenceEndEvent)


class _NotPlain(Exception):
    pass


def _child_path(frame: _Frame | None) -> tree.Path:
    """The path of a collection that starts inside `frame` (at the root: none)."""
    if frame is None:
        return ()
    return (*frame.path, frame.key) if frame.is_map and frame.key is not None else (
        *frame.path, "[]")


def _plain_reading(text: str) -> Reading | None:
    """The reading of a plain values file, from libyaml's events; None for any other."""
    if not pyyaml.__with_libyaml__ or any(c in text for c in _NOT_PLAIN) \
            or _DIRECTIVE.search(text):
        return None
    try:
        events = list(pyyaml.parse(text, Loader=pyyaml.CSafeLoader))
        return _PlainWalk(text).reading(events)
    except (pyyaml.YAMLError, _NotPlain):
        return None


@dataclass
class _Frame:
    """A collection open in the walk of a plain file's events."""

    path: tree.Path  # dotted-path parts of the collection ("[]" for a list item)
    is_map: bool
    flow: bool
    written: list[tuple[str, int]]  # a map's keys so far, with their 1-based lines
    key: str | None = None  # the key whose value comes next; None: a key comes next


class _PlainWalk:
    """One pass over the events of a plain file: the key lines (each map's keys registered in
    the order `_key_lines` walks the composed document: maps in document order, a map's keys
    before those of the maps inside it) and the top-level entries."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.maps: list[tuple[tree.Path, list[tuple[str, int]]]] = []
        self.keys: list[str] = []
        self.first: list[int] = []
        self.last: list[int] = []  # each entry's last content line seen in its events
        self.flow_end: list[bool] = []  # see Entries.flow_end

    def reading(self, events: list[Any]) -> Reading:
        kinds = [type(e) for e in events[:3]] + [type(e) for e in events[-2:]]
        if len(events) < 6 or kinds != [pyyaml.StreamStartEvent, pyyaml.DocumentStartEvent,
                                        pyyaml.MappingStartEvent, pyyaml.DocumentEndEvent,
                                        pyyaml.StreamEndEvent] \
                or events[1].explicit or events[-2].explicit or events[2].flow_style:
            raise _NotPlain
        frames: list[_Frame] = []
        for event in events[2:-2]:
            if getattr(event, "anchor", None) is not None or isinstance(event, pyyaml.AliasEvent) \
                    or getattr(event, "tag", None) is not None:
                raise _NotPlain
            frame = frames[-1] if frames else None
            if frame is not None and frame.is_map and frame.key is None \
                    and not isinstance(event, pyyaml.MappingEndEvent):
                self._key(frame, event, top=len(frames) == 1)
            elif isinstance(event, _COLLECTION_ENDS):
                if frames.pop().flow:  # a block collection ends where the next token starts
                    end = event.end_mark
                    self._content(end.line, flow=any(not f.is_map and not f.flow
                                                     for f in frames[1:])
                                  or bool(self.lines[end.line][end.column:].strip()))
                self._value_read(frames)
            elif isinstance(event, _COLLECTION_STARTS):
                is_map = isinstance(event, pyyaml.MappingStartEvent)
                path = _child_path(frame)
                frames.append(_Frame(path, is_map, bool(event.flow_style), []))
                if is_map:
                    self.maps.append((path, frames[-1].written))
            elif isinstance(event, pyyaml.ScalarEvent) and event.style not in ("|", ">"):
                if event.value or event.style:  # an empty plain value has no place of its own
                    self._content(event.end_mark.line)
                self._value_read(frames)
            else:
                raise _NotPlain  # a block scalar
        return Reading(self._key_lines(), entries=self._entries())

    def _key(self, frame: _Frame, event: Any, top: bool) -> None:
        if not isinstance(event, pyyaml.ScalarEvent) or event.style in ("|", ">") \
                or event.start_mark.line != event.end_mark.line \
                or (event.value == "<<" and not event.style):
            raise _NotPlain  # a key that is not a scalar on one line, or a merge key
        if any(key == event.value for key, _ in frame.written):
            raise _NotPlain  # a key written twice
        frame.written.append((event.value, event.start_mark.line + 1))
        frame.key = event.value
        if top:
            if event.start_mark.column != 0:
                raise _NotPlain
            self.keys.append(event.value)
            self.first.append(event.start_mark.line)
            self.last.append(event.start_mark.line)
            self.flow_end.append(False)

    @staticmethod
    def _value_read(frames: list[_Frame]) -> None:
        if frames and frames[-1].is_map:
            frames[-1].key = None

    def _content(self, line: int, flow: bool = False) -> None:
        if self.last:
            self.last[-1] = max(self.last[-1], line)
            self.flow_end[-1] = flow

    def _key_lines(self) -> KeyLines:
        where: dict[str, int] = {}
        for path, written in self.maps:
            for key, line in written:
                where.setdefault(tree.dotted((*path, key)), line)
        return KeyLines(where, ())

    def _entries(self) -> Entries:
        """Each entry's last line: the last line before the next key that is not a comment or
        blank (its content ends there, a value's own line breaks aside), or later when a
        scalar of it reaches further (a comment-like line in a quoted string)."""
        lines = self.lines
        last = []
        for i, seen in enumerate(self.last):
            end = self.first[i + 1] if i + 1 < len(self.first) else len(lines)
            line = end - 1
            while line > self.first[i] and (not lines[line].strip()
                                            or lines[line].lstrip().startswith("#")):
                line -= 1
            last.append(max(line, seen))
        if any(last[i] >= self.first[i + 1] for i in range(len(last) - 1)):
            raise _NotPlain
        return Entries(tuple(self.keys), tuple(self.first), tuple(last), tuple(self.flow_end))


def _composed_key_lines(text: str) -> KeyLines:
    reader = YAML()
    reader.Composer = GuardedComposer  # nor an alias bomb, nor thousands of nested brackets
    try:
        root = reader.compose(text)
    except YAMLError:
        return KeyLines({}, ())
    return _key_lines(root, {})


def _key_lines(root: Node | None, written: Mapping[int, tuple[MappingNode, dict[str, list[int]]]]
               ) -> KeyLines:
    """The key lines of a composed document. `written`: each map's keys as the file writes them
    (by node id), for a document whose maps lost the duplicates Helm ignores; a map not in it
    is read as it stands."""
    found: list[Duplicate] = []
    where: dict[str, int] = {}
    for path, node in _mapping_nodes(root, (), set()):
        seen = written.get(id(node))
        lines = seen[1] if seen is not None else _written_lines(node)
        for key, at in lines.items():
            where.setdefault(tree.dotted((*path, key)), at[-1])
            if len(at) > 1:
                found.append(Duplicate(tree.dotted((*path, key)), at[-1], tuple(at[:-1])))
    return KeyLines(where, tuple(sorted(found, key=lambda d: d.line)))


def _written_lines(node: MappingNode) -> dict[str, list[int]]:
    """Each plain key of a map and the 1-based lines it is written on, in file order."""
    lines: dict[str, list[int]] = {}
    for key, _ in node.value:
        if _plain_key(key) is not None:
            lines.setdefault(key.value, []).append(key.start_mark.line + 1)
    return lines


_UNTAKEN = object()


class _Readings:
    """The values files last read round trip, so that each is parsed once: the check
    (`read`) loads it, its key lines noted while it is composed, and the one edit of it
    (`render_values`) takes the loaded document itself. A second edit of the same text (rare)
    loads it again: a deep copy of a document costs about half a load, on every edit."""

    def __init__(self, size: int, plain: bool = True) -> None:
        self._size = size
        self._plain = plain  # read plain files with libyaml (False: every file round trip)
        self._readings: OrderedDict[str, Reading] = OrderedDict()
        self._documents: dict[str, Any] = {}  # not yet taken by an edit
        self._lock = threading.Lock()

    def peek(self, text: str) -> Reading | None:
        with self._lock:
            return self._readings.get(text)

    def reading(self, text: str) -> Reading:
        with self._lock:
            known = self._readings.get(text)
            if known is not None:
                self._readings.move_to_end(text)
                return known
        plain = _plain_reading(text) if self._plain else None
        found, document = (plain, _UNTAKEN) if plain is not None else _load(text)
        with self._lock:
            self._readings[text] = found
            if document is not _UNTAKEN:
                self._documents[text] = document
            while len(self._readings) > self._size:
                dropped, _ = self._readings.popitem(last=False)
                self._documents.pop(dropped, None)
        return found

    def take(self, text: str, kept: Collection[str]) -> Any:
        """The loaded document of `text` for an edit that keeps at most the top-level keys
        `kept` (None when the reader refuses it). Of a plain file, only the entries the edit
        can keep are read (`Entries.without_others`)."""
        reading = self.reading(text)
        if reading.problem is not None:
            return None
        if reading.entries is not None:
            try:
                return _yaml().load(reading.entries.without_others(text, kept))
            except YAMLError:
                pass  # not expected of a plain file: the whole of it, as any other
        with self._lock:
            document = self._documents.pop(text, _UNTAKEN)
        if document is not _UNTAKEN:
            return document
        try:
            return _yaml().load(text)
        except YAMLError:
            return None


_READINGS = _Readings(64)


def _load(text: str) -> tuple[Reading, Any]:
    """One parse of `text`: its reading and its round-trip document (_UNTAKEN when refused)."""
    reader = _yaml()
    try:
        document = reader.load(text)
    except YAMLError as exc:
        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        # Composed, then refused by the constructor (a second `<<`): the keys are known.
        # Refused before that, the file is composed as Helm's reading of it is, for its keys.
        composed = reader.composer.keys
        keys = composed if composed is not None else _composed_key_lines(text)
        return Reading(keys, problem), _UNTAKEN
    return Reading(reader.composer.keys), document


def _mapping_nodes(node: Node | None, path: tree.Path, seen: set[int]
                   ) -> Iterator[tuple[tree.Path, MappingNode]]:
    if node is None or id(node) in seen:
        return  # an alias repeats a node already walked
    seen.add(id(node))
    if isinstance(node, MappingNode):
        yield path, node
        used = _used(node)
        for i, (key, value) in enumerate(node.value):
            name = _plain_key(key)
            if name is not None and i in used:  # Helm ignores the earlier ones
                yield from _mapping_nodes(value, (*path, name), seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _mapping_nodes(item, (*path, "[]"), seen)


def _used(node: MappingNode) -> set[int]:
    """The entries Helm reads: every one but the earlier ones of a key written twice."""
    last: dict[str | None, int] = {}
    for i, (key, _) in enumerate(node.value):
        name = _plain_key(key)
        last[name if name is not None else f"\0{i}"] = i
    return set(last.values())


def _plain_key(key: Node) -> str | None:
    """The key's text, for a scalar key that is not a merge key (`<<` merges, both are used)."""
    if not isinstance(key, ScalarNode) or str(key.tag) == "tag:yaml.org,2002:merge":
        return None
    return str(key.value)


class _LastKeyWins(GuardedComposer):
    """Composes maps as Helm reads them: of a key written twice, only the last stays. The
    comment lines above the earlier one go with it; those below it move up to the key before.
    The key lines of a whole stream composed (`keys`) are noted before any key is dropped."""

    keys: KeyLines | None = None  # None until the stream is composed

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._written: dict[int, tuple[MappingNode, dict[str, list[int]]]] = {}

    def get_single_node(self) -> Any:
        self.keys, self._written = None, {}
        root = super().get_single_node()
        self.keys = _key_lines(root, self._written)
        return root

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        # the node is kept with its lines: a dropped one's id is not reused meanwhile
        self._written[id(node)] = (node, _written_lines(node))
        used = _used(node)
        for i in reversed(range(len(node.value))):
            if i in used:
                continue
            if i:
                _hand_over_comments(node.value[i - 1][1], node.value[i][1])
            else:
                _hand_over_first(node, node.value[i][1])
            del node.value[i]
        return node


def _last_scalar(node: Node) -> Node:
    """Where ruamel keeps the comment lines after a value: on its last scalar."""
    if isinstance(node, MappingNode | SequenceNode) and node.value and not node.flow_style:
        last = node.value[-1]
        return _last_scalar(last[1] if isinstance(node, MappingNode) else last)
    return node


def _hand_over_comments(previous: Node, dropped: Node) -> None:
    """The lines after a dropped value stand above the next key: the previous value takes
    them, in place of the lines it had after it (those stood above the dropped key)."""
    before, after = _last_scalar(previous), _last_scalar(dropped)
    below = _following_lines(after)
    token = before.comment[0] if before.comment else None
    eol = _split(token.value)[0] if isinstance(token, CommentToken) else None
    text = (f"{eol}\n" if eol is not None else "\n") + below
    if token is not None:
        token.value = text
    elif below:
        before.comment = [CommentToken(text, CommentMark(0), None), None]


def _hand_over_first(node: MappingNode, dropped: Node) -> None:
    """The same for a map's first key: the lines above it (the end of a file's opening
    comment, after its last blank line) give way to the lines below it."""
    below = _following_lines(_last_scalar(dropped))
    above = node.comment[1] if node.comment and len(node.comment) > 1 else None
    text = "".join(" " * (t.column or 0) + t.value for t in above or ())
    head, blank, _ = text.rstrip("\n").rpartition("\n\n")
    kept = f"{head}{blank}" if blank else ""
    lines = (kept + (below if kept else below.lstrip("\n"))).splitlines()
    if not any(line.strip() for line in lines):
        if node.comment:
            node.comment[1] = None
        return
    first = lines[0]
    column = len(first) - len(first.lstrip())
    token = CommentToken("\n".join([first.lstrip(), *lines[1:]]) + "\n", CommentMark(column),
                         None)
    if node.comment:
        node.comment[1] = [token]
    else:
        node.comment = [None, [token]]


def _following_lines(node: Node) -> str:
    token = node.comment[0] if node.comment else None
    return _split(token.value)[1] if isinstance(token, CommentToken) else ""


def line_ending(text: str | None) -> str:
    """The file's line ending: CRLF when its first line ends so."""
    if not text:
        return "\n"
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def render_values(
    wanted: Mapping[str, Any],
    source_text: str | None,
    rules: Sequence[Rule] = (),
    decisions: Sequence[ValueDecision] = (),
    header: str | None = None,
) -> str:
    """The YAML text of a values file holding exactly `wanted`, shaped after `source_text`
    (with its line endings); written anew when the round trip reader refuses the source."""
    newline = line_ending(source_text)
    if source_text is not None:
        source_text = source_text.replace("\r\n", "\n")  # ruamel keeps a CR in comments
    return _rendered(wanted, source_text, rules, decisions, header).replace("\n", newline)


def _rendered(wanted: Mapping[str, Any], source_text: str | None, rules: Sequence[Rule],
              decisions: Sequence[ValueDecision], header: str | None) -> str:
    y = _yaml()
    doc: Any = None
    kept = _kept_sources(wanted, rules)
    if source_text and source_text.strip():
        # None when Helm reads it and this reader does not (a second `<<`): written anew.
        # The entries any rule names are read too, whatever the rule does with them.
        doc = _READINGS.take(source_text, kept | {
            tree.undotted(path)[0] for rule in rules for path in (rule.source, rule.target)
            if path})
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap()
    if len(doc) and list(doc)[0] not in kept:
        _drop_first_key_comment(doc)
    # Comment lines above keys are taken out first and follow their key through the renames.
    leads: dict[tuple[int, str], str] = {}
    trailer = _collect_leads(doc, leads)
    _strip_following(doc)
    for rule in rules:
        if rule.kind in ("rename", "convert") and rule.target:
            _move(doc, tree.undotted(rule.source), tree.undotted(rule.target), leads,
                  rule.fn if rule.kind == "convert" else None)
    _prune(doc, dict(wanted))
    _add_missing(doc, dict(wanted), (), {d.path: d for d in decisions})
    _reattach(doc, leads)
    first_lead = leads.get((id(doc), list(doc)[0]), "") if len(doc) else ""
    if first_lead.strip():
        _prepend_to_first_key(doc, first_lead)
    if trailer.strip() and len(doc):
        _append_after(doc, list(doc)[-1], trailer)
    if header:
        doc.yaml_set_start_comment(header)
    if not len(doc):
        return (f"# {header}\n" if header else "") + "{}\n"
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


# --- renames -----------------------------------------------------------------------------


def _kept_sources(wanted: Mapping[str, Any], rules: Sequence[Rule]) -> set[str]:
    """Top-level keys of the source file that something in `wanted` comes from."""
    kept = set(wanted)
    for rule in rules:
        if rule.target and tree.undotted(rule.target)[0] in wanted:
            kept.add(tree.undotted(rule.source)[0])
    return kept


def _move(doc: CommentedMap, src: tree.Path, dst: tree.Path,
          leads: dict[tuple[int, str], str], convert: Callable[[Any], Any] | None) -> None:
    """Move (and, for a convert rule, transform) one value, with its comments."""
    parent = _node(doc, src[:-1])
    if not isinstance(parent, CommentedMap) or src[-1] not in parent:
        return
    position = list(parent).index(src[-1])
    value = parent[src[-1]]
    if convert is not None:
        value = _fresh(convert(value))
    slot = parent.ca.items.pop(src[-1], None)
    lead = leads.pop((id(parent), src[-1]), None)
    del parent[src[-1]]
    # A new top-level key stands where its source's top-level key stands (or stood).
    anchor = position if len(src) == 1 else (
        list(doc).index(src[0]) if src[0] in doc else len(doc))
    if src[:-1] == dst[:-1]:
        node = parent
        node.insert(position, dst[-1], value)
    elif len(dst) == 1:
        node = doc
        node.insert(min(anchor, len(node)), dst[0], value)
    else:
        # Build the destination chain; a new top-level key takes the comment above the old.
        node = doc
        for i, key in enumerate(dst[:-1]):
            if not isinstance(node.get(key), CommentedMap):
                if i == 0:
                    node.insert(min(anchor, len(node)), key, CommentedMap())
                    if lead is not None and len(src) == 1:
                        leads[(id(doc), key)], lead = lead, None
                else:
                    node[key] = CommentedMap()
            node = node[key]
        node[dst[-1]] = value
    delta = 2 * (len(dst) - len(src))  # the files this tool writes indent maps by two
    if slot:
        node.ca.items[dst[-1]] = _shifted_slot(slot, delta)
    if lead is not None:
        leads[(id(node), dst[-1])] = _reindent(lead, delta)
    if delta and isinstance(value, CommentedMap | CommentedSeq):
        inside = {id(n) for n in _containers(value)}
        for (owner, key), text in list(leads.items()):
            if owner in inside:
                leads[(owner, key)] = _reindent(text, delta)
        for n in _containers(value):
            _shift_comments(n, delta)


def _containers(node: Any) -> list[Any]:
    """`node` and every map and list below it."""
    found = [node]
    children = node.values() if isinstance(node, CommentedMap) else node
    for child in children:
        if isinstance(child, CommentedMap | CommentedSeq):
            found.extend(_containers(child))
    return found


def _reindent(text: str, delta: int) -> str:
    lines = []
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        lines.append(" " * max(0, indent + delta) + line.lstrip(" ") if line.strip() else line)
    return "\n".join(lines)


def _moved_token(token: Any, delta: int) -> Any:
    if not isinstance(token, CommentToken):
        return token
    return CommentToken(token.value, CommentMark(max(0, (token.column or 0) + delta)), None)


def _shifted_slot(slot: list[Any], delta: int) -> list[Any]:
    """Comment lines stored before a key or its first child, moved to the key's new depth."""
    out = list(slot)
    for index in (1, 3):
        if index < len(out) and isinstance(out[index], list):
            out[index] = [_moved_token(t, delta) for t in out[index]]
    return out


def _shift_comments(node: Any, delta: int) -> None:
    for key, slot in list(node.ca.items.items()):
        if isinstance(slot, list):
            node.ca.items[key] = _shifted_slot(slot, delta)
    start = node.ca.comment
    if start and len(start) > 1 and isinstance(start[1], list):
        start[1] = [_moved_token(t, delta) for t in start[1]]


def _node(doc: Any, path: tree.Path) -> Any:
    for key in path:
        if not isinstance(doc, CommentedMap) or key not in doc:
            return None
        doc = doc[key]
    return doc


# --- comments above keys -----------------------------------------------------------------


def _drop_first_key_comment(doc: CommentedMap) -> None:
    """The file's opening comment ends with the first key's own paragraph: it goes with it."""
    start = doc.ca.comment
    if not start or not start[1]:
        return
    text = "".join(token.value for token in start[1])
    paragraphs = text.rstrip("\n").split("\n\n")
    kept = "\n\n".join(paragraphs[:-1])
    start[1] = [CommentToken(kept + "\n\n", CommentMark(0), None)] if kept else None


def _prepend_to_first_key(doc: CommentedMap, text: str) -> None:
    """A removed first key's successor inherits the end of the file's opening comment."""
    start = doc.ca.comment
    existing = "".join(token.value for token in start[1]) if start and start[1] else ""
    token = CommentToken(existing + text.lstrip("\n"), CommentMark(0), None)
    if start:
        start[1] = [token]
    else:
        doc.ca.comment = [None, [token]]


def _split(value: str) -> tuple[str | None, str]:
    """A post-key comment token holds the key's end-of-line comment, then the lines that
    stand above the next key."""
    if value.startswith("#"):
        first, _, rest = value.partition("\n")
        return first, rest
    # Without an end-of-line comment the token starts with the key line's own line break.
    return None, value[1:] if value.startswith("\n") else value


def _post(node: Any, key: Any) -> tuple[Any, Any, int]:
    """Where the comment lines after `key` (and its whole value) are stored: the slot after the
    last scalar of the value (ruamel keeps them there, index 2 in maps and 0 in sequences)."""
    value = node[key]
    if isinstance(value, CommentedMap) and len(value):
        return _post(value, list(value)[-1])
    if isinstance(value, CommentedSeq) and len(value):
        return _post(value, len(value) - 1)
    return node, key, 0 if isinstance(node, CommentedSeq) else 2


def _following(node: CommentedMap, key: Any) -> str:
    holder, hkey, index = _post(node, key)
    slot = holder.ca.items.get(hkey)
    if not slot or slot[index] is None:
        return ""
    return _split(slot[index].value)[1]


def _pre(node: CommentedMap, key: Any) -> str:
    """Comment lines ruamel stored *before* a key (after a flow collection, for instance)."""
    slot = node.ca.items.get(key)
    if not slot or not slot[1]:
        return ""
    return "".join(" " * (token.column or 0) + token.value for token in slot[1])


def _collect_leads(node: CommentedMap, leads: dict[tuple[int, str], str],
                   parent: tuple[CommentedMap, Any] | None = None) -> str:
    keys = list(node)
    for i, key in enumerate(keys):
        if i:
            text = _following(node, keys[i - 1]) + _pre(node, key)
            leads[(id(node), key)] = _own_lines(text, _column(node, key))
        elif parent is not None:
            leads[(id(node), key)] = _first_child_lines(*parent)
        if isinstance(node[key], CommentedMap):
            _collect_leads(node[key], leads, (node, key))
    return _following(node, keys[-1]) if keys else ""


def _first_child_lines(parent: CommentedMap, key: Any) -> str:
    """Comment lines between `key:` and its first child, as text with their indentation."""
    slot = parent.ca.items.get(key)
    if not slot or len(slot) < 4 or not slot[3]:
        return ""
    return "".join(" " * (token.column or 0) + token.value for token in slot[3])


def _column(node: CommentedMap, key: Any) -> int:
    try:
        return int(node.lc.key(key)[1])
    except (AttributeError, KeyError, TypeError):
        return 0


def _own_lines(text: str, column: int) -> str:
    """The comment block right above a key: trailing lines not indented deeper than the key.
    Deeper lines (commented-out examples of the previous value) stay with that value."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    kept: list[str] = []
    for line in reversed(lines):
        if line.strip() and len(line) - len(line.lstrip()) > column:
            break
        kept.append(line)
    return "".join(f"{line}\n" for line in reversed(kept))


def _strip_following(node: CommentedMap, top: bool = True) -> None:
    """Remove the comment lines that stand above each key (collected as leads first);
    end-of-line comments, and comments inside lists (never pruned), stay."""
    for i, key in enumerate(list(node)):
        holder, hkey, index = _post(node, key)
        slot = holder.ca.items.get(hkey)
        if slot and slot[index] is not None:
            eol, _ = _split(slot[index].value)
            if eol is None:
                slot[index] = None
            else:
                slot[index].value = eol + "\n"
        own = node.ca.items.get(key)
        if own and (i or not top) and own[1]:
            own[1] = None
        if isinstance(node[key], CommentedMap):
            if own and len(own) > 3 and own[3]:
                own[3] = None  # collected as the lead of the first child
                node[key].ca.comment = None
            _strip_following(node[key], top=False)


def _append_after(node: CommentedMap, key: Any, text: str) -> None:
    """Put comment lines after `key` (and its whole value), that is above the next key."""
    holder, hkey, index = _post(node, key)
    slot = holder.ca.items.setdefault(hkey, [None, None, None, None])
    if slot[index] is None:
        slot[index] = CommentToken("\n" + text, CommentMark(0), None)
    else:
        slot[index].value = slot[index].value.rstrip("\n") + "\n" + text


def _reattach(node: CommentedMap, leads: Mapping[tuple[int, str], str],
              parent: tuple[CommentedMap, Any] | None = None) -> None:
    keys = list(node)
    for i, key in enumerate(keys):
        lead = leads.get((id(node), key), "")
        if i and lead:
            _append_after(node, keys[i - 1], lead)
        elif lead.strip() and parent is not None:
            _before_first_child(*parent, lead)
        if isinstance(node[key], CommentedMap):
            _reattach(node[key], leads, (node, key))


def _before_first_child(parent: CommentedMap, key: Any, text: str) -> None:
    """Comment lines between `key:` and its first child (ruamel keeps them on the parent)."""
    lines = [line for line in text.splitlines() if line.strip()]
    column = len(lines[0]) - len(lines[0].lstrip())
    token = CommentToken("\n".join(line.strip() if i == 0 else line
                                   for i, line in enumerate(lines)) + "\n",
                         CommentMark(column), None)
    slot = parent.ca.items.setdefault(key, [None, None, None, None])
    slot[3] = [token]


# --- content -----------------------------------------------------------------------------


def _prune(node: CommentedMap, wanted: dict[str, Any]) -> None:
    for key in list(node):
        if key not in wanted:
            del node[key]
            node.ca.items.pop(key, None)
            continue
        want = wanted[key]
        have = node[key]
        if isinstance(want, dict) and isinstance(have, CommentedMap):
            _prune(have, want)
        elif not tree.same(_plain(have), want):
            node[key] = _fresh(want)


def _add_missing(node: CommentedMap, wanted: dict[str, Any], path: tree.Path,
                 why: Mapping[str, ValueDecision]) -> None:
    for key, want in wanted.items():
        p = (*path, str(key))
        if key in node:
            if isinstance(want, dict) and isinstance(node[key], CommentedMap):
                _add_missing(node[key], want, p, why)
            continue
        decision = why.get(tree.dotted(p))
        node[key] = _fresh(want)
        comment = _WHY.get(decision.reason) if decision else None
        if comment and not isinstance(want, dict):
            node.yaml_add_eol_comment(comment, key)


def _fresh(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _fresh(v)
        return out
    if isinstance(value, list):
        return CommentedSeq(_fresh(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
