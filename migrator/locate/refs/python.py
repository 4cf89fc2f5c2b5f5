"""Helm commands in Python deploy scripts, read with libcst (never imported, never run).

Recognised calls: `subprocess.run/call/check_call/check_output/Popen`, `os.system/popen`, invoke's
`c.run(...)` and fabric's `run/local/sudo`, with the command as a list of arguments or as one
string. String literals, concatenations and f-strings are read; names bound once to such strings
(at module level or in the enclosing function) are resolved. Anything else is a run-time value:
it shows up as `${name}` in the command text, so the command parser treats it like a shell
variable nobody defined (a chart or release built that way is not rewritable).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from migrator.errors import RepoError
from migrator.locate.helmcmd import parse_helm_command
from migrator.locate.refs.common import invocation_from
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.walk import read_script
from migrator.model import HelmInvocation

_CALLS = {"run", "call", "check_call", "check_output", "Popen", "system", "popen", "local", "sudo",
          "getoutput", "getstatusoutput"}  # fmt: skip
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Piece:
    """Part of a string value: literal text, or a run-time placeholder."""

    text: str
    static: bool
    node: cst.CSTNode | None = None  # the SimpleString / f-string part that spells it
    owner: cst.CSTNode | None = None  # the SimpleString or FormattedString holding `node`
    raw_ok: bool = False  # the literal's source spells exactly `text` (no escapes)


@dataclass(frozen=True)
class Segment:
    """Where a range of the command text comes from in the source."""

    start: int
    end: int
    piece: Piece


@dataclass(frozen=True)
class PyCommand:
    call: cst.Call
    line: int
    context: str
    form: Literal["list", "string"]
    text: str  # the command as shell text
    elements: tuple[cst.BaseExpression, ...]  # list form: one element per word
    segments: tuple[Segment, ...]  # string form: where each range of `text` was written
    container: cst.List | cst.Tuple | None = None  # list form: the list node


def wants(rel: str) -> bool:
    return rel.endswith(".py")


def read(root: Path, rel: str) -> FileRefs:
    source = read_script(root, rel)
    if "helm" not in source:
        return FileRefs()
    return FileRefs(tuple(python_invocations(rel, source)))


def python_invocations(rel: str, source: str) -> Iterator[HelmInvocation]:
    for command in helm_commands(rel, source):
        parsed = parse_helm_command(command.text)
        if parsed is None:
            continue
        yield invocation_from(
            parsed,
            file=rel,
            line=command.line,
            source="python",
            context=command.context,
            environment=None,
            rewritable=command.form == "string" or len(command.elements) == len(parsed.words),
        )


def parse_module(rel: str, source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise RepoError(f"not valid Python: {exc.message}", file=rel,
                        line=exc.raw_line) from exc


def helm_commands(rel: str, source: str) -> list[PyCommand]:
    """Every call that may run helm, with its command text; the order of the source."""
    return helm_commands_in(parse_module(rel, source))


def helm_commands_in(module: cst.Module) -> list[PyCommand]:
    """`helm_commands` over a parsed module; the records point at the module's own nodes."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    collector = _Collector()
    wrapper.visit(collector)
    out = [
        command
        for call, context, scope in collector.calls
        if (command := _command(call, context, scope, collector.module_names, wrapper)) is not None
    ]
    return [c for c in out if "helm" in c.text]


class _Collector(cst.CSTVisitor):
    """Calls with a helm-looking command, and the names bound to strings around them."""

    def __init__(self) -> None:
        self.module_names: dict[str, list[cst.BaseExpression]] = {}
        self.calls: list[tuple[cst.Call, str, dict[str, list[cst.BaseExpression]]]] = []
        self._functions: list[tuple[str, dict[str, list[cst.BaseExpression]]]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names: dict[str, list[cst.BaseExpression]] = {}
        node.body.visit(_Assignments(names))
        self._functions.append((node.name.value, names))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if isinstance(statement, cst.SimpleStatementLine):
                statement.visit(_Assignments(self.module_names))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if name in _CALLS and node.args:
            context, scope = self._functions[-1] if self._functions else ("", {})
            self.calls.append((node, context, scope))


class _Assignments(cst.CSTVisitor):
    def __init__(self, into: dict[str, list[cst.BaseExpression]]) -> None:
        self.into = into

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested functions have their own scope

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.into.setdefault(target.target.value, []).append(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self.into.setdefault(node.target.value, []).append(node.value)


def _command(
    call: cst.Call,
    context: str,
    scope: dict[str, list[cst.BaseExpression]],
    module_names: dict[str, list[cst.BaseExpression]],
    wrapper: MetadataWrapper,
) -> PyCommand | None:
    arg = next((a for a in call.args if a.keyword is None), None)
    if arg is None:
        arg = next((a for a in call.args if a.keyword and a.keyword.value in ("args", "cmd")), None)
    if arg is None:
        return None
    line = wrapper.resolve(PositionProvider)[call].start.line
    names = {**module_names, **scope}
    value = arg.value
    if isinstance(value, cst.Name) and len(names.get(value.value, [])) == 1:
        resolved = names[value.value][0]
        if isinstance(resolved, cst.List | cst.Tuple):
            value = resolved
    if isinstance(value, cst.List | cst.Tuple):
        return _list_command(call, line, context, value, names)
    pieces = _pieces(value, names, 0)
    text, segments = _join(pieces)
    return PyCommand(call, line, context, "string", text, (), tuple(segments))


def _list_command(
    call: cst.Call,
    line: int,
    context: str,
    value: cst.List | cst.Tuple,
    names: dict[str, list[cst.BaseExpression]],
) -> PyCommand:
    words: list[str] = []
    elements: list[cst.BaseExpression] = []
    counts: list[int] = []
    for element in value.elements:
        if isinstance(element, cst.StarredElement):
            expanded = _starred(element.value, names)
            if expanded is None:
                words.append('"${PY_ARGS}"')
                counts.append(1)
            else:
                words.extend(shlex.quote(w) for w in expanded)
                counts.append(len(expanded))
            elements.append(element.value)
            continue
        pieces = _pieces(element.value, names, 0)
        words.append(_quote_word(pieces))
        elements.append(element.value)
        counts.append(1)
    # elements map to words one to one only when no starred element expanded to several
    mapped = tuple(elements) if all(c == 1 for c in counts) else ()
    text = " ".join(words)
    return PyCommand(call, line, context, "list", text, mapped, (), container=value)


def _starred(
    node: cst.BaseExpression, names: dict[str, list[cst.BaseExpression]]
) -> list[str] | None:
    if isinstance(node, cst.Name) and len(names.get(node.value, [])) == 1:
        node = names[node.value][0]
    if not isinstance(node, cst.List | cst.Tuple):
        return None
    out: list[str] = []
    for element in node.elements:
        pieces = _pieces(element.value, names, 0)
        if isinstance(element, cst.StarredElement) or not all(p.static for p in pieces):
            return None
        out.append("".join(p.text for p in pieces))
    return out


def _quote_word(pieces: list[Piece]) -> str:
    if all(p.static for p in pieces):
        return shlex.quote("".join(p.text for p in pieces))
    out = ['"']
    for p in pieces:
        if p.static:
            out.append(
                p.text.replace("\\", "\\\\")
                .replace('"', '\\"')
                .replace("$", "\\$")
                .replace("`", "\\`")
            )
        else:
            out.append(p.text)
    out.append('"')
    return "".join(out)


def _join(pieces: list[Piece]) -> tuple[str, list[Segment]]:
    text = ""
    segments: list[Segment] = []
    for piece in pieces:
        segments.append(Segment(len(text), len(text) + len(piece.text), piece))
        text += piece.text
    return text, segments


def _pieces(
    node: cst.BaseExpression, names: dict[str, list[cst.BaseExpression]], depth: int
) -> list[Piece]:
    if depth > _MAX_DEPTH:
        return [_placeholder(node)]
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if not isinstance(value, str):
            return [_placeholder(node)]
        ok = node.raw_value == value and "r" not in node.prefix.lower()
        return [Piece(value, True, node, node, raw_ok=ok)]
    if isinstance(node, cst.ConcatenatedString):
        return _pieces(node.left, names, depth) + _pieces(node.right, names, depth)
    if isinstance(node, cst.FormattedString):
        out: list[Piece] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                ok = text == part.value and "\\" not in text
                out.append(Piece(text, True, part, node, raw_ok=ok))
            elif isinstance(part, cst.FormattedStringExpression):
                inner = (
                    [_placeholder(part.expression)]
                    if part.format_spec or part.conversion
                    else _pieces(part.expression, names, depth + 1)
                )
                # the expression as a whole can be replaced by literal text inside this f-string
                out.extend(Piece(p.text, p.static, part, node) for p in inner)
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _pieces(node.left, names, depth + 1)
        right = _pieces(node.right, names, depth + 1)
        return left + right
    if isinstance(node, cst.Name) and len(names.get(node.value, [])) == 1:
        return _pieces(names[node.value][0], names, depth + 1)
    return [_placeholder(node)]


def _placeholder(node: cst.CSTNode) -> Piece:
    if isinstance(node, cst.Name):
        name = node.value
    elif isinstance(node, cst.Attribute):
        name = "PY_" + node.attr.value  # not a name in scope: never written back into an f-string
    else:
        name = "PY_EXPR"
    return Piece("${" + name + "}", False)
