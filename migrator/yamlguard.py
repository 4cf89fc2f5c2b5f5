"""What one YAML document may cost to read: how deep it nests, how far its aliases expand.

A repository's YAML is written by whoever can push to it. Two shapes cost far more to read than
their size says. Nine lines of anchors, each a list of nine aliases to the one before ("billion
laughs"), are 387 million nodes to every reader that walks the data, so the run hangs; Helm's
go-yaml refuses them ("excessive aliasing"), and GitLab ("the parsed YAML is too big"). Thousands
of nested `[` or `{` exhaust the stack of every recursive reader, ruamel.yaml's composer first;
GitLab refuses YAML nested deeper than 100 levels. Both are refused here before anything walks the
data, by counting while the document is read: `Budget` for a reader that composes the document
itself, `GuardedComposer` for ruamel.yaml, `check_text` for text another reader (Helm) will read.
"""

from __future__ import annotations

from typing import Any

import yaml as pyyaml
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

from migrator.errors import RepoError

MAX_DEPTH = 100  # levels of nodes (GitLab's own `max_yaml_depth`)
MAX_NODES = 1_000_000  # nodes after expanding aliases; 1 MB of YAML without aliases has fewer


class YamlLimitError(MarkedYAMLError):
    """A document refused for what it would cost to read. A YAMLError, so every reader that
    refuses malformed YAML refuses this too; `problem` says why, `problem_mark` where."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def refused(rel: str, exc: YamlLimitError) -> RepoError:
    """The reason a document past a limit is not read, on its file and line."""
    mark = exc.problem_mark
    return RepoError(f"refused: {exc.problem}", file=rel,
                     line=mark.line + 1 if mark is not None else None)


def too_deep(mark: Any) -> YamlLimitError:
    return YamlLimitError(f"nested deeper than {MAX_DEPTH} levels", mark)


class Budget:
    """The count of one document as it is read, depth first: `open` a node, `close` it when its
    children are read (its expanded size is then known), `alias` for a reference to an anchored
    node. Raises YamlLimitError as soon as a limit is passed."""

    def __init__(self) -> None:
        self._sizes: list[int] = [0]  # expanded size so far of each open node; [0]: the document
        self._open: list[str | None] = [None]  # the anchor of each open node
        self._anchors: dict[str, int] = {}  # anchor -> expanded size of its node

    def open(self, anchor: str | None, mark: Any) -> None:
        if len(self._sizes) > MAX_DEPTH:
            raise too_deep(mark)
        self._sizes.append(1)
        self._open.append(anchor)

    def leaf(self, anchor: str | None, mark: Any) -> None:
        """A scalar: `open` and `close` at once."""
        if len(self._sizes) > MAX_DEPTH:
            raise too_deep(mark)
        if anchor is not None:
            self._anchors[anchor] = 1
        self._add(1, mark)

    def close(self, mark: Any) -> int:
        size = self._sizes.pop()
        anchor = self._open.pop()
        if anchor is not None:
            self._anchors[anchor] = size
        self._add(size, mark)
        return size

    def alias(self, anchor: str, mark: Any) -> None:
        """An alias: its node counts again, whole. One naming a node still open would make that
        node contain itself; an unknown one is for the reader to refuse."""
        if anchor in self._open:
            raise YamlLimitError(f"the alias *{anchor} is inside the node it names", mark)
        self._add(self._anchors.get(anchor, 1), mark)

    def _add(self, size: int, mark: Any) -> None:
        self._sizes[-1] += size
        if self._sizes[-1] > MAX_NODES:
            raise YamlLimitError(f"its aliases expand it past {MAX_NODES:,} nodes (an alias "
                                 "bomb)", mark)


class GuardedComposer(Composer):
    """ruamel.yaml's composer, counting each document on a `Budget` as it composes it: the
    limits hold before any node is constructed, and no recursion goes deeper than they allow."""

    def compose_document(self) -> Any:
        self._budget = Budget()
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        budget: Budget = self._budget
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            budget.alias(str(event.anchor), event.start_mark)
            return super().compose_node(parent, index)
        budget.open(event.anchor, event.start_mark)
        node = super().compose_node(parent, index)
        budget.close(event.start_mark)
        return node


_STARTS = (pyyaml.SequenceStartEvent, pyyaml.MappingStartEvent)
_ENDS = (pyyaml.SequenceEndEvent, pyyaml.MappingEndEvent)


def check_text(text: str) -> None:
    """Raise YamlLimitError when a document of `text` passes a limit. Read with libyaml (fast,
    and never recursive); text it cannot parse is left to whoever reads it to refuse."""
    loader = pyyaml.CSafeLoader if pyyaml.__with_libyaml__ else pyyaml.SafeLoader
    budget = Budget()
    starts: list[Any] = []  # the start event of each open collection
    try:
        for event in pyyaml.parse(text, Loader=loader):
            kind = type(event)
            if kind is pyyaml.ScalarEvent:
                budget.leaf(event.anchor, event.start_mark)
            elif kind in _STARTS:
                budget.open(event.anchor, event.start_mark)
                starts.append(event)
            elif kind in _ENDS:
                budget.close(starts.pop().start_mark)
            elif kind is pyyaml.AliasEvent:
                budget.alias(event.anchor, event.start_mark)
            elif kind is pyyaml.DocumentStartEvent:
                budget, starts = Budget(), []
    except pyyaml.YAMLError as exc:
        too_far = libyaml_limit(exc)
        if too_far is not None:
            raise too_far from exc


def libyaml_limit(exc: Any) -> YamlLimitError | None:
    """libyaml's own refusal of a document nested past its limit (1,000 levels, found while it
    scans ahead, before the events that would have passed ours), as ours."""
    if "maximum nesting depth" not in str(getattr(exc, "problem", "")):
        return None
    return too_deep(getattr(exc, "problem_mark", None))
