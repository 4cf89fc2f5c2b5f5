"""Suggested rules into mapping modules with libcst: only the added rules change."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import libcst as cst

from migrator.errors import ConfigError
from migrator.suggest.convert import function_name, function_source
from migrator.suggest.heuristics import LINE_LENGTH, MAPPING_MODULE, RULE_FUNCTIONS, Suggestion

# ---------------------------------------------------------------------------------------------
# Writing the rules into mapping modules


def apply_suggestions(module_path: Path, suggestions: Iterable[Suggestion]) -> str:
    """The module's new source with a `rename` (or a `convert` and the function it calls, put
    above `RULES`) per suggestion meant for it (same module name, with a target) that it does
    not already hold a rule for. Every other byte stays.

    When the module does not exist yet, the source of a new one; "" when there is nothing to
    put in it. Writing the file is the caller's job.
    """
    mine = _for_module(module_path.stem, suggestions)
    if not module_path.exists():
        return _new_module(mine) if mine else ""
    try:
        text = module_path.read_text(encoding="utf-8")
        module = cst.parse_module(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{module_path}: cannot read ({exc})") from exc
    except cst.ParserSyntaxError as exc:
        raise ConfigError(f"{module_path}: not valid Python ({exc.message}, "
                          f"line {exc.raw_line})") from exc
    facts = _ModuleFacts()
    module.visit(facts)
    if facts.rules_lists != 1:
        raise ConfigError(f"{module_path}: expected one top-level `RULES = [...]` list, found "
                          f"{facts.rules_lists}; add the rules by hand")
    family = facts.strings.get("FAMILY")
    for s in mine:
        if family is not None and s.family != family:
            raise ConfigError(f"{module_path}: FAMILY is {family!r}, the suggestion for "
                              f"{s.source} is for {s.family!r}")
    todo = [s for s in mine if not _held(s, facts)]
    if not todo:
        return text
    callees = dict(facts.callees)
    for needed in sorted({s.rule for s in todo}):
        if needed not in callees:
            module = module.visit(_ImportName(needed))
            callees[needed] = needed
    functions = _functions(todo, facts.names)
    if functions:
        module = module.visit(_InsertFunctions([source for _, source in functions.values()]))
    codes = [(s, rule_code(s, callees[s.rule], functions.get(id(s), ("", ""))[0]))
             for s in todo]
    edited = module.visit(_AppendRules(codes))
    return edited.code


def _held(s: Suggestion, facts: _ModuleFacts) -> bool:
    """The module has a rule for it already: a rule on its source, or, for a `convert`, one
    calling the function this suggestion would write (several reshape one source)."""
    if s.conversion is None:
        return s.source in facts.sources
    return (s.source, function_name(s.source, s.within, set())) in facts.converts


def _functions(suggestions: Sequence[Suggestion], taken: set[str]
               ) -> dict[int, tuple[str, str]]:
    """id(suggestion) -> (name, source) of the function each `convert` suggestion calls."""
    names = set(taken)
    out: dict[int, tuple[str, str]] = {}
    for s in suggestions:
        if s.conversion is None:
            continue
        name = function_name(s.source, s.within, names)
        names.add(name)
        out[id(s)] = (name, function_source(name, _dotted(s), s.conversion, s.within))
    return out


def _dotted(s: Suggestion) -> str:
    return ".".join((s.source, *s.within)).replace(".[]", "[]")


def functions_for_report(suggestions: Sequence[Suggestion]) -> list[tuple[Suggestion, str, str]]:
    """(suggestion, function name, function source) of the `convert` suggestions."""
    found = _functions(suggestions, set())
    return [(s, *found[id(s)]) for s in suggestions if id(s) in found]


def module_sources(directory: Path, suggestions: Sequence[Suggestion]) -> dict[Path, str]:
    """path -> new source, for each module file in `directory` the suggestions change or add."""
    out: dict[Path, str] = {}
    for name in sorted({s.module for s in suggestions if s.target is not None}):
        path = directory / f"{name}.py"
        text = apply_suggestions(path, suggestions)
        if text and (not path.exists() or text != path.read_text(encoding="utf-8")):
            out[path] = text
    return out


def _for_module(name: str, suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    out: list[Suggestion] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for s in suggestions:
        key = (s.source, s.within if s.conversion is not None else ("rename",))
        if s.module == name and s.target is not None and key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _imports(suggestions: Sequence[Suggestion]) -> str:
    return ", ".join(sorted({s.rule for s in suggestions}))


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def rule_code(s: Suggestion, callee: str, function: str = "") -> str:
    """The rule's line: `rename("a", "b")`, or `convert("a", "a", function)`."""
    if s.conversion is not None:
        return f"{callee}({_literal(s.source)}, {_literal(s.target or '')}, {function})"
    return f"{callee}({_literal(s.source)}, {_literal(s.target or '')})"


def _comment(s: Suggestion, code: str) -> str:
    """`# suggested: N repos (a, b, ...)`, with as many names as keep the rule's line within
    LINE_LENGTH (the team's linter also reads mappings/)."""
    room = LINE_LENGTH - len(f"    {code},  ")
    head = f"# suggested: {s.repos} repo{'' if s.repos == 1 else 's'}"
    names = [re.sub(r"\s+", " ", n) for n in s.examples]
    for shown in range(len(names), 0, -1):
        more = ", ..." if s.repos > shown else ""
        text = f"{head} ({', '.join(names[:shown])}{more})"
        if len(text) <= room:
            return text
    return head


def _new_module(suggestions: Sequence[Suggestion]) -> str:
    first = suggestions[0]
    functions = _functions(suggestions, set())
    codes = [(s, rule_code(s, s.rule, functions.get(id(s), ("", ""))[0])) for s in suggestions]
    rules = "".join(f"    {code},  {_comment(s, code)}\n" for s, code in codes)
    defs = "".join(f"\n\n{source}" for _, source in functions.values())
    return (
        f'"""{first.family} {first.from_range} -> {first.to}: generated by '
        "`migrator mappings suggest`.\n\n"
        "Each rule was proposed from keys the fleet's forks set and the central chart does not\n"
        "know, or holds in another shape. Review them and edit freely: the next `suggest` only\n"
        "appends, and keeps the rest.\n"
        '"""\n\n'
        f"from migrator.mapping import {_imports(suggestions)}\n\n"
        f"FAMILY = {_literal(first.family)}\n"
        f"FROM = {_literal(first.from_range)}\n"
        f"TO = {_literal(first.to)}\n"
        f"{defs}\n"
        f"{chr(10) if defs else ''}RULES = [\n{rules}]\n"
    )


def _callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr.value}"
    return ""


def _rules_list(node: cst.Assign | cst.AnnAssign) -> cst.List | None:
    if isinstance(node, cst.Assign):
        named = any(isinstance(t.target, cst.Name) and t.target.value == "RULES"
                    for t in node.targets)
    else:
        named = isinstance(node.target, cst.Name) and node.target.value == "RULES"
    return node.value if named and isinstance(node.value, cst.List) else None


class _ModuleFacts(cst.CSTVisitor):
    """What the module already holds: the sources its rules name, how it reaches the rule
    functions, its literal settings and top-level names, how many top-level RULES lists."""

    def __init__(self) -> None:
        self.sources: set[str] = set()
        self.converts: set[tuple[str, str]] = set()  # (source, function) of `convert` rules
        self.callees: dict[str, str] = {}  # "rename" -> how the module calls it
        self.strings: dict[str, str] = {}
        self.names: set[str] = set()
        self.rules_lists = 0
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._depth:
            self.names.add(node.name.value)
        self._depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if _callee_name(node.func) not in RULE_FUNCTIONS or not node.args:
            return
        first = node.args[0].value
        if isinstance(first, cst.SimpleString | cst.ConcatenatedString):
            value = first.evaluated_value
            if isinstance(value, str):
                self.sources.add(value)
                if len(node.args) > 2 and isinstance(node.args[2].value, cst.Name):
                    self.converts.add((value, node.args[2].value.value))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is None or _dotted_name(node.module) != MAPPING_MODULE:
            return
        if isinstance(node.names, cst.ImportStar):
            self.callees.update({name: name for name in RULE_FUNCTIONS})
            return
        for alias in node.names:
            if _dotted_name(alias.name) in RULE_FUNCTIONS:
                self.callees[_dotted_name(alias.name)] = alias.evaluated_alias or _dotted_name(
                    alias.name)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if _dotted_name(alias.name) == MAPPING_MODULE:
                for name in RULE_FUNCTIONS:
                    self.callees.setdefault(
                        name, f"{alias.evaluated_alias or MAPPING_MODULE}.{name}")

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._depth:
            return
        if _rules_list(node) is not None:
            self.rules_lists += 1
        self.names.update(t.target.value for t in node.targets
                          if isinstance(t.target, cst.Name))
        if (len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name)
                and isinstance(node.value, cst.SimpleString)):
            value = node.value.evaluated_value
            if isinstance(value, str):
                self.strings[node.targets[0].target.value] = value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self._depth and _rules_list(node) is not None:
            self.rules_lists += 1


class _ImportName(cst.CSTTransformer):
    """Makes a rule function importable: added to a one-line `from migrator.mapping import
    ...`, else a new import line after the last top-level import (or the docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        last_import = -1
        for i, stmt in enumerate(body):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            if _is_import(stmt):
                last_import = i
            small = stmt.body[0] if len(stmt.body) == 1 else None
            if (isinstance(small, cst.ImportFrom) and small.module is not None
                    and _dotted_name(small.module) == MAPPING_MODULE
                    and not isinstance(small.names, cst.ImportStar) and small.lpar is None):
                body[i] = stmt.with_changes(body=[_with_alias(small, self.name)])
                return updated_node.with_changes(body=body)
        new = cst.parse_statement(f"from {MAPPING_MODULE} import {self.name}\n")
        if last_import < 0 and body and _is_docstring(body[0]):
            last_import = 0
            new = new.with_changes(leading_lines=[cst.EmptyLine()])
        at = last_import + 1
        body.insert(at, new)
        after = body[at + 1] if at + 1 < len(body) else None
        if (isinstance(after, cst.SimpleStatementLine | cst.BaseCompoundStatement)
                and not after.leading_lines and not _is_import(after)):
            # Imports are set apart from the code below them by a blank line.
            body[at + 1] = after.with_changes(leading_lines=[cst.EmptyLine()])
        return updated_node.with_changes(body=body)


def _is_import(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine)
            and any(isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body))


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString))


def _with_alias(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """`name` added where isort (ruff's I rules) would put it: constants, classes, functions."""
    assert not isinstance(node.names, cst.ImportStar)
    aliases = list(node.names)
    names = [_dotted_name(a.name) for a in aliases]
    at = sum(1 for n in names if _isort_key(n) < _isort_key(name))
    aliases.insert(at, cst.ImportAlias(name=cst.Name(name)))
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    rebuilt = [a.with_changes(comma=comma if i < len(aliases) - 1 else cst.MaybeSentinel.DEFAULT)
               for i, a in enumerate(aliases)]
    return node.with_changes(names=rebuilt)


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


class _InsertFunctions(cst.CSTTransformer):
    """Puts function definitions right above the top-level `RULES` (and the comment lines
    above it), two blank lines around each."""

    def __init__(self, sources: Sequence[str]) -> None:
        self.functions = [cst.parse_statement(source) for source in sources]

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        at = next(i for i, stmt in enumerate(body) if _is_rules(stmt))
        two = [cst.EmptyLine(), cst.EmptyLine()]
        added = [f.with_changes(leading_lines=two) for f in self.functions]
        rules = body[at]
        blank = 0
        for line in rules.leading_lines:
            if line.comment is not None:
                break
            blank += 1
        if blank < 2:
            rules = rules.with_changes(
                leading_lines=[*[cst.EmptyLine()] * (2 - blank), *rules.leading_lines])
        body[at:at + 1] = [*added, rules]
        return updated_node.with_changes(body=body)


def _is_rules(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Assign | cst.AnnAssign) and _rules_list(small) is not None
        for small in stmt.body)


class _AppendRules(cst.CSTTransformer):
    """Appends one element per suggestion to the top-level `RULES` list, each on its own line
    with a comment; the existing elements, their comments and the closing bracket's line stay
    byte for byte (a last element without a trailing comma gains one)."""

    def __init__(self, codes: Sequence[tuple[Suggestion, str]]) -> None:
        self.codes = codes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        found = _rules_list(updated_node)
        return updated_node if found is None else updated_node.with_changes(
            value=self._extended(found))

    def leave_AnnAssign(self, original_node: cst.AnnAssign,
                        updated_node: cst.AnnAssign) -> cst.AnnAssign:
        found = _rules_list(updated_node)
        return updated_node if found is None else updated_node.with_changes(
            value=self._extended(found))

    def _extended(self, node: cst.List) -> cst.List:
        closing = node.rbracket.whitespace_before
        if not isinstance(closing, cst.ParenthesizedWhitespace):
            return self._exploded(node)
        indent = _element_indent(node)
        elements = list(node.elements)
        if elements:
            last = elements[-1]
            before = (last.comma.whitespace_before if isinstance(last.comma, cst.Comma)
                      else cst.SimpleWhitespace(""))
            # The last element's line (and comments before `]`) end where they did.
            elements[-1] = last.with_changes(comma=cst.Comma(
                whitespace_before=before,
                whitespace_after=closing.with_changes(last_line=cst.SimpleWhitespace(indent))))
        added, final = self._elements(indent, closing.last_line)
        return node.with_changes(
            elements=[*elements, *added],
            rbracket=node.rbracket.with_changes(whitespace_before=final))

    def _elements(self, indent: str, closing_indent: cst.SimpleWhitespace
                  ) -> tuple[list[cst.Element], cst.ParenthesizedWhitespace]:
        """New elements, each ending its line with its comment; the last one's line end goes
        before `]`."""
        lines = [(cst.parse_expression(code),
                  cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "),
                                         comment=cst.Comment(_comment(s, code))))
                 for s, code in self.codes]
        out = []
        for i, (value, end) in enumerate(lines):
            last = i == len(lines) - 1
            after: cst.BaseParenthesizableWhitespace = (
                cst.SimpleWhitespace("") if last else cst.ParenthesizedWhitespace(
                    first_line=end, indent=True, last_line=cst.SimpleWhitespace(indent)))
            out.append(cst.Element(value=value, comma=cst.Comma(whitespace_after=after)))
        final = cst.ParenthesizedWhitespace(first_line=lines[-1][1], indent=True,
                                            last_line=closing_indent)
        return out, final

    def _exploded(self, node: cst.List) -> cst.List:
        """A one-line list (`[]`, `[rename(...)]`) becomes one element per line."""
        indent = "    "
        newline = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True,
                                              last_line=cst.SimpleWhitespace(indent))
        kept = [e.with_changes(comma=cst.Comma(whitespace_after=newline))
                for e in node.elements if isinstance(e, cst.Element | cst.StarredElement)]
        added, final = self._elements(indent, cst.SimpleWhitespace(""))
        return node.with_changes(
            elements=[*kept, *added],
            lbracket=node.lbracket.with_changes(whitespace_after=newline),
            rbracket=node.rbracket.with_changes(whitespace_before=final))


def _element_indent(node: cst.List) -> str:
    opening = node.lbracket.whitespace_after
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return opening.last_line.value
    for element in node.elements:
        comma = element.comma
        if (isinstance(comma, cst.Comma)
                and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)):
            return comma.whitespace_after.last_line.value
    return "    "
