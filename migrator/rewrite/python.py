"""Rewrite helm commands in Python deploy scripts with libcst.

Only the string literals (or list elements) that carry the chart reference, the version and the
values files change; a libcst transformer swaps exactly those nodes, so formatting, comments and
everything else keep their bytes. A list command gains or loses whole elements, laid out like
their neighbours. In the `dependency` style the command gains `--dependency-update` (helm builds
the wrapper's dependency itself) instead of a second call, which would mean inventing a statement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from migrator.locate.helmcmd import ParsedHelm, parse_helm_command
from migrator.locate.refs.python import PyCommand, Segment, helm_commands_in, parse_module
from migrator.model import HelmInvocation
from migrator.rewrite.command import (
    CommandChange,
    Delete,
    Edit,
    InsertAfter,
    Op,
    Replace,
    kept_set_flags,
    plan_ops,
    text_edits,
)
from migrator.rewrite.envs import choose_values
from migrator.rewrite.scripts import (
    DEPLOY_VERBS,
    FileOutcome,
    chart_words,
    deploy_after,
    unrewritable_reason,
)
from migrator.rewrite.target import DeployAfter, RewriteTarget

_PATTERN_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Unsafe(Exception):
    """This command cannot be edited in place; the message says why."""


@dataclass
class _Changes:
    """Node replacements, keyed by the identity of the original node."""

    simple: dict[int, list[Edit]] = field(default_factory=dict)  # SimpleString -> value edits
    parts: dict[int, list[Edit]] = field(default_factory=dict)  # FormattedStringText -> edits
    fparts: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)  # f-string
    lists: dict[int, list[cst.BaseElement]] = field(default_factory=dict)  # List/Tuple elements


def rewrite_python(
    rel: str, text: str, refs: Sequence[HelmInvocation], target: RewriteTarget
) -> FileOutcome:
    out = FileOutcome([], [], [])
    module = parse_module(rel, text)
    commands = {c.line: c for c in helm_commands_in(module)}
    changes = _Changes()
    for line, group in _by_line(refs).items():
        command = commands.get(line)
        if not all(r.rewritable for r in group):
            out.untouched.extend((r, unrewritable_reason(r)) for r in group)
            continue
        if command is None:
            out.untouched.extend(
                (r, "the call could not be found again in the file") for r in group
            )
            continue
        try:
            out.deploys.extend(_rewrite_command(command, group, target, changes))
        except _Unsafe as exc:
            out.untouched.extend((r, str(exc)) for r in group)
    if changes.simple or changes.parts or changes.fparts or changes.lists:
        new = module.visit(_Apply(changes)).code
        if new != text:
            out.edits.append(Edit(0, len(text), new))
    return out


def _by_line(refs: Sequence[HelmInvocation]) -> dict[int, list[HelmInvocation]]:
    out: dict[int, list[HelmInvocation]] = {}
    for ref in refs:
        out.setdefault(ref.line, []).append(ref)
    return out


def _rewrite_command(
    command: PyCommand, group: list[HelmInvocation], target: RewriteTarget, changes: _Changes
) -> list[DeployAfter]:
    parsed = parse_helm_command(command.text)
    if parsed is None or parsed.chart_word is None:
        raise _Unsafe("the call's arguments do not name a chart")
    if parsed.verb not in DEPLOY_VERBS:
        if target.style != "dependency":
            raise _Unsafe(
                f"`helm {parsed.subcommand}` of the removed chart has no central equivalent"
            )
        ops: list[Op] = [Replace(parsed.chart_word, chart_words(target))]
        _record(command, parsed, ops, changes)
        return []
    values_words = [parsed.words[u.words[-1]] for u in parsed.flag_uses("--values")]
    choice = choose_values(group, values_words, target)
    if isinstance(choice, str):
        raise _Unsafe(choice)
    for f in choice.files:
        for var in _PATTERN_VAR.findall(f):
            if var.startswith("PY_"):
                raise _Unsafe("values files chosen by a Python expression that is not a name")
    change = CommandChange(
        chart_words(target),
        None if target.style == "dependency" else target.version,
        choice.files,
    )
    ops = plan_ops(parsed, change)
    if target.style == "dependency" and not parsed.flag_uses("--dependency-update"):
        ops.append(InsertAfter(parsed.chart_word, ("--dependency-update",)))
        ops = _fold_inserts(ops, parsed.chart_word)
    _record(command, parsed, ops, changes)
    sets = kept_set_flags(parsed, change)
    return [
        deploy_after(target, d.invocation, d.env, d.values_files, sets, dict(d.variables))
        for d in choice.deploys
    ]


def _fold_inserts(ops: list[Op], chart_word: int) -> list[Op]:
    """One Replace of the chart word carrying what is inserted after it."""
    replace = next(op for op in ops if isinstance(op, Replace) and op.word == chart_word)
    extra = [
        w for op in ops if isinstance(op, InsertAfter) and op.word == chart_word for w in op.words
    ]
    rest = [
        op
        for op in ops
        if op is not replace and not (isinstance(op, InsertAfter) and op.word == chart_word)
    ]
    return [*rest, Replace(chart_word, replace.words + tuple(extra))]


def _record(command: PyCommand, parsed: ParsedHelm, ops: list[Op], changes: _Changes) -> None:
    if command.form == "list":
        _record_list(command, parsed, ops, changes)
    else:
        _record_string(command, parsed, ops, changes)


# --- list form -----------------------------------------------------------------------------------


def _record_list(command: PyCommand, parsed: ParsedHelm, ops: list[Op], changes: _Changes) -> None:
    container = command.container
    if container is None or len(command.elements) != len(parsed.words):
        raise _Unsafe("the argument list is built from other lists at run time")
    elements = list(container.elements)
    quote = _quote_of(elements)
    replaced: dict[int, list[cst.BaseExpression]] = {}
    deleted: set[int] = set()
    inserted: dict[int, list[cst.BaseExpression]] = {}
    for op in ops:
        if isinstance(op, Replace):
            replaced[op.word] = [_literal(w, quote) for w in op.words]
        elif isinstance(op, Delete):
            deleted.update(op.words)
        else:
            inserted.setdefault(op.word, []).extend(_literal(w, quote) for w in op.words)
    inline = _inline_comma(elements)
    one_per_line = all(_breaks_line(e.comma) for e in elements[:-1])
    new: list[cst.BaseElement] = []
    for index, element in enumerate(elements):
        if index in deleted:
            continue
        values = replaced.get(index, [element.value]) + inserted.get(index, [])
        # new words take the layout of the element they replace or follow: one per line in a
        # one-per-line list, side by side otherwise; the last keeps the element's own comma
        between = element.comma if one_per_line and _breaks_line(element.comma) else inline
        for position, value in enumerate(values):
            comma = element.comma if position == len(values) - 1 else between
            new.append(element.with_changes(value=value, comma=comma))
    if elements and new:
        # the last element keeps the original list's closing layout (trailing comma or not)
        new[-1] = new[-1].with_changes(comma=elements[-1].comma)
        for i in range(len(new) - 1):
            if new[i].comma is cst.MaybeSentinel.DEFAULT:
                new[i] = new[i].with_changes(comma=inline)
    changes.lists[id(container)] = new


def _inline_comma(elements: list[cst.BaseElement]) -> cst.Comma:
    """The comma the list uses between elements on one line."""
    for e in elements:
        comma = e.comma
        if (
            isinstance(comma, cst.Comma)
            and isinstance(comma.whitespace_after, cst.SimpleWhitespace)
            and comma.whitespace_after.value
        ):
            return comma
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _breaks_line(comma: cst.Comma | cst.MaybeSentinel) -> bool:
    return isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    )


def _quote_of(elements: list[cst.BaseElement]) -> str:
    for e in elements:
        if isinstance(e.value, cst.SimpleString):
            return e.value.quote[0]
    return '"'


def _literal(word: str, quote: str) -> cst.BaseExpression:
    """A string element for a new word; `${name}` becomes an f-string placeholder."""
    body = word.replace("\\", "\\\\").replace(quote, "\\" + quote)
    if _PATTERN_VAR.search(word):
        body = body.replace("{", "{{").replace("}", "}}")
        body = re.sub(r"\$\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}", r"{\1}", body)
        return cst.parse_expression(f"f{quote}{body}{quote}")
    return cst.SimpleString(f"{quote}{body}{quote}")


# --- string form ---------------------------------------------------------------------------------


def _record_string(
    command: PyCommand, parsed: ParsedHelm, ops: list[Op], changes: _Changes
) -> None:
    for edit in text_edits(parsed, ops):
        if _PATTERN_VAR.search(edit.text):
            raise _Unsafe("a values file chosen at run time inside a command string")
        _place(command.segments, edit, changes)


def _place(segments: tuple[Segment, ...], edit: Edit, changes: _Changes) -> None:
    if edit.start == edit.end:
        touching = [s for s in segments if s.start < edit.start <= s.end]
        touching = [s for s in touching if s.piece.raw_ok] or touching
        touching = touching[:1]
    else:
        touching = [s for s in segments if s.start < edit.end and edit.start < s.end]
    if len(touching) == 1 and touching[0].piece.raw_ok and touching[0].piece.node is not None:
        seg = touching[0]
        local = Edit(edit.start - seg.start, edit.end - seg.start, edit.text)
        node = seg.piece.node
        bucket = changes.simple if isinstance(node, cst.SimpleString) else changes.parts
        bucket.setdefault(id(node), []).append(local)
        return
    owners = {id(s.piece.owner) for s in touching if s.piece.owner is not None}
    owner = touching[0].piece.owner if touching else None
    if (
        len(owners) == 1
        and isinstance(owner, cst.FormattedString)
        and all(s.piece.owner is owner for s in touching)
        and touching[0].start == edit.start
        and touching[-1].end == edit.end
    ):
        parts = list(owner.parts)
        first = parts.index(touching[0].piece.node)  # type: ignore[arg-type]
        last = parts.index(touching[-1].piece.node)  # type: ignore[arg-type]
        if _covers_whole_parts(segments, touching, first, last, parts):
            changes.fparts.setdefault(id(owner), []).append((first, last, edit.text))
            return
    raise _Unsafe("the chart reference is assembled from Python expressions")


def _covers_whole_parts(
    segments: tuple[Segment, ...],
    touching: list[Segment],
    first: int,
    last: int,
    parts: list[cst.BaseFormattedStringContent],
) -> bool:
    wanted = {id(p) for p in parts[first : last + 1]}
    inside = [s for s in segments if id(s.piece.node) in wanted]
    return {id(s) for s in inside} == {id(s) for s in touching}


class _Apply(cst.CSTTransformer):
    def __init__(self, changes: _Changes) -> None:
        self.changes = changes

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        edits = self.changes.simple.get(id(original_node))
        if not edits:
            return updated_node
        quote = original_node.quote
        body = _edit_text(original_node.raw_value, edits, quote)
        return updated_node.with_changes(value=f"{original_node.prefix}{quote}{body}{quote}")

    def leave_FormattedStringText(
        self, original_node: cst.FormattedStringText, updated_node: cst.FormattedStringText
    ) -> cst.FormattedStringText:
        edits = self.changes.parts.get(id(original_node))
        if not edits:
            return updated_node
        return updated_node.with_changes(value=_edit_text(original_node.value, edits, None))

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.BaseExpression:
        replacements = self.changes.fparts.get(id(original_node))
        if not replacements:
            return updated_node
        parts = list(updated_node.parts)
        for first, last, text in sorted(replacements, reverse=True):
            escaped = text.replace("{", "{{").replace("}", "}}")
            parts[first : last + 1] = [cst.FormattedStringText(escaped)]
        return updated_node.with_changes(parts=parts)

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.BaseExpression:
        new = self.changes.lists.get(id(original_node))
        return updated_node if new is None else updated_node.with_changes(elements=new)

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.BaseExpression:
        new = self.changes.lists.get(id(original_node))
        return updated_node if new is None else updated_node.with_changes(elements=new)


def _edit_text(raw: str, edits: list[Edit], quote: str | None) -> str:
    out: list[str] = []
    pos = 0
    for e in sorted(edits, key=lambda x: (x.start, x.end)):
        out.append(raw[pos : e.start])
        text = e.text.replace("\\", "\\\\")
        if quote is not None:
            text = text.replace(quote[0], "\\" + quote[0]) if len(quote) == 1 else text
        else:
            text = text.replace("{", "{{").replace("}", "}}")
        out.append(text)
        pos = e.end
    out.append(raw[pos:])
    return "".join(out)
