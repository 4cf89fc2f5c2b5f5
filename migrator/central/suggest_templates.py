"""Add hatches to a central chart's templates by editing them in place, never regenerating them.

A Deployment template is YAML with Go template actions between its lines. It is read line by line
as a person reads it: the key lines give the structure (indentation says what is inside what),
the action lines say what is conditional (`{{- with X }}`, `{{- if X }}` ... `{{- end }}`). Each
hatch goes to one place: after the items of a list the template already writes (`containers:`),
into the condition that guards a field (`{{- with .Values.volumes }}` becomes "volumes or
extraVolumes"), or as a new guarded field at the end of its parent. Every inserted line starts
with `{{-`, so with the hatch empty the template renders exactly what it rendered before (the
proof renders both to show it). What cannot be read that way (a pod spec built in a helper, a
field under nested conditions) is refused with the file and line, to be edited by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from migrator.central.hatches import EXTRA_OBJECTS_TEMPLATE, Hatch
from migrator.errors import MigratorError

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

_KEY = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<key>[A-Za-z0-9_./-]+|\"[^\"]*\"|'[^']*'):"
                  r"(?P<rest>\s.*|)$")
_ITEM = re.compile(r"^(?P<indent> *)- ")
_ACTION = re.compile(r"\{\{-?\s*(/\*.*?\*/)?\s*(?P<word>[a-z]+)?(?P<tail>.*?)-?\}\}")
_OPENERS = frozenset({"if", "with", "range", "define", "block"})
_NINDENT = re.compile(r"\bn?indent\s+(\d+)")
_BLOCK_SCALAR = re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")

EXTRA_OBJECTS_TEXT = """\
{{- /* Manifests a release adds as they are (values: extraObjects), each passed through tpl. */}}
{{- range .Values.extraObjects }}
---
{{- if kindIs "string" . }}
{{ tpl . $ }}
{{- else }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end }}
"""


class TemplateEditError(MigratorError):
    """A template the tool cannot edit safely; the message names the file and line."""


@dataclass(frozen=True)
class _Line:
    text: str
    indent: int
    key: str | None  # the YAML key written on this line
    item: bool  # the line starts a list item ("- ")
    steps: tuple[str, ...]  # its template actions in order: "open", "close", "else"
    content: bool  # YAML text (not blank, not a comment, not only actions)
    # a line that is one `{{- with X }}` / `{{- if X }}`: (with|if, X, how it closes)
    opener: tuple[str, str, str] | None


def _parse(text: str) -> list[_Line]:
    out = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        steps = []
        for m in _ACTION.finditer(raw):
            word = m.group("word") or ""
            if word in _OPENERS:
                steps.append("open")
            elif word == "end":
                steps.append("close")
            elif word == "else":
                steps.append("else")
        only_actions = bool(stripped) and not _ACTION.sub("", stripped).strip()
        key_match = None if only_actions else _KEY.match(raw)
        opener = None
        single = _ACTION.fullmatch(stripped)
        if single and single.group("word") in ("with", "if") and only_actions:
            opener = (str(single.group("word")), single.group("tail").strip(),
                      "-}}" if stripped.endswith("-}}") else "}}")
        out.append(_Line(
            text=raw,
            indent=len(raw) - len(raw.lstrip(" ")),
            key=key_match.group("key").strip("\"'") if key_match else None,
            item=bool(_ITEM.match(raw)) and not only_actions,
            steps=tuple(steps),
            content=bool(stripped) and not only_actions and not stripped.startswith("#"),
            opener=opener,
        ))
    return out


@dataclass(frozen=True)
class _Block:
    start: int  # the key line (or list item line)
    end: int  # its last line, conditions balanced
    indent: int  # indentation of the key (of the dash, for an item)
    child: int  # indentation of its own keys; -1 when it has none


class _Template:
    """One workload template being edited; line numbers shift as lines go in, so every edit
    reads the structure afresh."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.split("\n")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def fail(self, index: int, why: str) -> TemplateEditError:
        return TemplateEditError(why, file=self.file, line=index + 1)

    # --- reading ---------------------------------------------------------------------------

    def _document(self, parsed: list[_Line]) -> tuple[int, int]:
        """The line range of the document that holds the workload."""
        starts = [0] + [i + 1 for i, ln in enumerate(parsed) if ln.text.startswith("---")]
        ends = [i for i, ln in enumerate(parsed) if ln.text.startswith("---")] + [len(parsed)]
        for start, end in zip(starts, ends, strict=True):
            for ln in parsed[start:end]:
                if ln.indent == 0 and ln.key == "kind" and \
                        ln.text.split(":", 1)[1].strip() in WORKLOAD_KINDS:
                    return start, end
        raise TemplateEditError(f"no {'/'.join(WORKLOAD_KINDS)} in it", file=self.file)

    def _find(self, path: Sequence[str]) -> tuple[list[_Line], _Block]:
        """The block of the key at `path` (from the document's root) in the workload document."""
        parsed = _parse(self.text)
        first, stop = self._document(parsed)
        stack: list[tuple[int, str]] = []
        scalar_under: int | None = None
        for i in range(first, stop):
            ln = parsed[i]
            if not ln.content:
                continue
            if scalar_under is not None:
                if ln.indent > scalar_under:
                    continue
                scalar_under = None
            if ln.item:
                while stack and (stack[-1][0] > ln.indent or
                                 (stack[-1][0] == ln.indent and stack[-1][1] == "-")):
                    stack.pop()
                stack.append((ln.indent, "-"))
                if ln.key is None:
                    continue
                key_indent = len(ln.text) - len(ln.text.lstrip(" -"))
            elif ln.key is not None:
                while stack and stack[-1][0] >= ln.indent:
                    stack.pop()
                key_indent = ln.indent
            else:
                continue
            stack.append((key_indent, ln.key or ""))
            rest = ln.text.split(":", 1)[1].strip()
            if _BLOCK_SCALAR.match(rest):
                scalar_under = key_indent
            if [name for _, name in stack if name != "-"] == list(path) and \
                    not any(name == "-" for _, name in stack):
                return parsed, self._block(parsed, i, key_indent, stop)
        raise TemplateEditError(f"no {'.'.join(path)} in its {self._kind(parsed)}",
                                file=self.file)

    def _kind(self, parsed: list[_Line]) -> str:
        for ln in parsed:
            if ln.indent == 0 and ln.key == "kind":
                return ln.text.split(":", 1)[1].strip()
        return "workload"

    def _block(self, parsed: list[_Line], start: int, indent: int, stop: int,
               item: bool = False) -> _Block:
        """The lines of the key (or list item) at `start`: up to the next YAML line as far
        left, leaving out actions that close what is outside or open what comes after."""
        depth = 0
        end = start
        child = -1
        for j in range(start + 1, stop):
            ln = parsed[j]
            if ln.text.startswith("---"):
                break
            if ln.content:
                # an indentless list continues its key; an item ends at the next item
                continues = ln.indent > indent or (ln.indent == indent and ln.item and not item)
                if not continues:
                    break
                if child < 0 and ln.key is not None:
                    child = len(ln.text) - len(ln.text.lstrip(" -")) if ln.item else ln.indent
            elif depth == 0 and ln.steps[:1] == ("open",) and ln.indent <= indent:
                break  # a condition written as far left opens something after the block
            outside = False
            for step in ln.steps:
                depth += {"open": 1, "close": -1, "else": 0}[step]
                if depth < 0 or (step == "else" and depth == 0):
                    outside = True
                    break
            if outside:
                break
            if depth == 0 and ln.text.strip() and not ln.text.strip().startswith("#"):
                end = j
        return _Block(start, end, indent, child)

    def _depth_between(self, parsed: list[_Line], first: int, last: int) -> int:
        depth = 0
        for ln in parsed[first:last]:
            for step in ln.steps:
                depth += {"open": 1, "close": -1, "else": 0}[step]
        return depth

    def _child(self, parsed: list[_Line], parent: _Block, name: str) -> int | None:
        """The line of the key `name` directly under `parent`."""
        for j in range(parent.start + 1, parent.end + 1):
            ln = parsed[j]
            if ln.content and ln.key == name and not ln.item and ln.indent == parent.child:
                return j
        return None

    def _app_container(self, parsed: list[_Line], pod: _Block) -> _Block:
        at = self._child(parsed, pod, "containers")
        if at is None:
            raise self.fail(pod.start, "the pod spec has no containers: field")
        containers = self._block(parsed, at, parsed[at].indent, len(parsed))
        for j in range(at + 1, containers.end + 1):
            if parsed[j].item:
                found = self._block(parsed, j, parsed[j].indent, len(parsed), item=True)
                key_indent = len(parsed[j].text) - len(parsed[j].text.lstrip(" -"))
                return _Block(found.start, found.end, found.indent, key_indent)
        raise self.fail(at, "containers: lists no container the template writes itself")

    # --- editing ---------------------------------------------------------------------------

    def add(self, hatch: Hatch) -> None:
        parsed, parent = self._parent(hatch)
        self._check_indented(parsed, parent)
        at = self._child(parsed, parent, hatch.field)
        if at is None:
            self._new_field(parent, hatch)
            return
        field = self._block(parsed, at, parsed[at].indent, len(parsed))
        depth = self._depth_between(parsed, parent.start + 1, at)
        if depth == 0:
            self._insert(field.end + 1, self._with_lines(hatch, self._item_indent(parsed, field),
                                                         self._item_indent(parsed, field)))
            return
        wrapper = parsed[at - 1].opener
        closes = field.end + 1 < len(parsed) and parsed[field.end + 1].steps == ("close",) and \
            not parsed[field.end + 1].content
        if depth != 1 or wrapper is None or not closes:
            raise self.fail(at, f"{hatch.field}: is written under conditions this tool does not "
                                f"rewrite; add `{hatch.key}` by hand")
        self._widen(at, field, wrapper, hatch, self._item_indent(parsed, field))

    def _check_indented(self, parsed: list[_Line], parent: _Block) -> None:
        """Actions written further left than the keys they guard (all at column 0, say) do
        not say what they belong to: such a template is not guessed at."""
        for j in range(parent.start + 1, len(parsed)):
            ln = parsed[j]
            if ln.text.startswith("---") or (ln.content and ln.indent <= parent.indent):
                break  # the YAML structure leaves the parent here, whatever the actions say
            if not ln.content or ln.indent != parent.child:
                continue
            k = j - 1
            while k > parent.start and parsed[k].steps and not parsed[k].content:
                if "open" in parsed[k].steps and parsed[k].indent < parent.child:
                    raise self.fail(k, "template actions are indented less than the keys "
                                       "they guard; add the hatches by hand")
                k -= 1

    def _parent(self, hatch: Hatch) -> tuple[list[_Line], _Block]:
        if hatch.place == "pod-metadata":
            return self._find(("spec", "template", "metadata"))
        parsed, pod = self._find(("spec", "template", "spec"))
        if hatch.place == "pod":
            return parsed, pod
        return parsed, self._app_container(parsed, pod)

    def _item_indent(self, parsed: list[_Line], field: _Block) -> int:
        """Where the field's items (or keys) are written: as the template writes them."""
        for j in range(field.start + 1, field.end + 1):
            ln = parsed[j]
            if ln.content:
                return ln.indent
            found = _NINDENT.search(ln.text)
            if found:
                return int(found.group(1))
        return field.indent + 2

    def _with_lines(self, hatch: Hatch, at: int, nindent: int) -> list[str]:
        pad = " " * at
        return [f"{pad}{{{{- with .Values.{hatch.key} }}}}",
                f"{pad}{{{{- toYaml . | nindent {nindent} }}}}",
                f"{pad}{{{{- end }}}}"]

    def _new_field(self, parent: _Block, hatch: Hatch) -> None:
        indent = parent.child if parent.child >= 0 else parent.indent + 2
        pad = " " * indent
        self._insert(parent.end + 1, [
            f"{pad}{{{{- with .Values.{hatch.key} }}}}",
            f"{pad}{hatch.field}:",
            f"{pad}  {{{{- toYaml . | nindent {indent + 2} }}}}",
            f"{pad}{{{{- end }}}}",
        ])

    def _widen(self, at: int, field: _Block, wrapper: tuple[str, str, str], hatch: Hatch,
               items: int) -> None:
        """`{{- with X }}field: ...{{- end }}` -> field when X or the hatch; `{{- if X }}`
        likewise, the hatch's items added before its `end`."""
        word, expression, close = wrapper
        opener = at - 1
        pad = " " * (len(self.lines[opener]) - len(self.lines[opener].lstrip(" ")))
        test = expression.split(":=", 1)[1].strip() if ":=" in expression else expression
        test = f"({test})" if " " in test else test
        hatch_lines = self._with_lines(hatch, field.indent, items)
        if word == "with":
            self._insert(field.end + 1, [f"{pad}{{{{- end }}}}", *hatch_lines])
            self._insert(at + 1, [self.lines[opener]])
        else:
            self._insert(field.end + 1, hatch_lines)
        self.lines[opener] = f"{pad}{{{{- if or {test} .Values.{hatch.key} {close}"

    def _insert(self, index: int, new: list[str]) -> None:
        self.lines[index:index] = new


def workload_template(templates: dict[str, str]) -> str:
    """The one template that writes the chart's workload (its pod spec is where hatches go)."""
    found = [name for name, text in sorted(templates.items())
             if name.endswith((".yaml", ".yml")) and re.search(
                 rf"(?m)^kind:\s*({'|'.join(WORKLOAD_KINDS)})\s*$", text)]
    if len(found) != 1:
        what = ", ".join(found) if found else "none"
        raise TemplateEditError(f"expected one template writing a {'/'.join(WORKLOAD_KINDS)}, "
                                f"found {what}: add the hatches by hand")
    return found[0]


def add_hatches(templates: dict[str, str], hatches: Sequence[Hatch]) -> dict[str, str]:
    """The templates (chart-relative path -> text) that change, with `hatches` added."""
    changed: dict[str, str] = {}
    in_pod = [h for h in hatches if h.place != "file"]
    if in_pod:
        name = workload_template(templates)
        template = _Template(name, templates[name])
        for hatch in in_pod:
            template.add(hatch)
        changed[name] = template.text
    for hatch in hatches:
        if hatch.place == "file":
            if hatch.field in templates:
                raise TemplateEditError(f"already exists: `{hatch.key}` would need another "
                                        f"name", file=hatch.field)
            changed[hatch.field] = EXTRA_OBJECTS_TEXT if \
                hatch.field == EXTRA_OBJECTS_TEMPLATE else ""
    return changed
