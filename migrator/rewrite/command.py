"""What changes in one helm command, as operations on its words, and those operations as text.

Planning works on words so the same plan serves shell text (CI scripts, Makefiles, shell scripts,
Python command strings) and argument lists (Python `subprocess.run([...])`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import cast

from migrator.locate.helmcmd import FlagUse, ParsedHelm, SetKind, split_set_value
from migrator.model import SetFlag

# Static values of these kinds can live in a values file; the engine moves them there.
MOVABLE_SET_KINDS = ("set", "set-string", "set-json", "set-literal")


@dataclass(frozen=True)
class Replace:
    word: int
    words: tuple[str, ...]


@dataclass(frozen=True)
class Delete:
    words: tuple[int, ...]  # adjacent word indexes (a flag and its value)


@dataclass(frozen=True)
class InsertAfter:
    word: int
    words: tuple[str, ...]


Op = Replace | Delete | InsertAfter


@dataclass(frozen=True)
class CommandChange:
    """The new deploy: chart words replacing the chart word (`oci://...`, or `--repo URL name`),
    the version to pin (None to leave `--version` alone), the values files in order."""

    chart: tuple[str, ...]
    version: str | None
    values_files: tuple[str, ...]
    drop_static_sets: bool = True
    drop_version: bool = False  # a local chart (the wrapper): a stale --version goes


def plan_ops(parsed: ParsedHelm, change: CommandChange) -> list[Op]:
    if parsed.chart_word is None:
        raise ValueError("the command names no chart")
    ops: list[Op] = []
    after_chart: list[str] = list(change.chart)
    versions = parsed.flag_uses("--version")
    if change.drop_version:
        ops.extend(Delete(v.words) for v in versions)
    elif change.version is not None:
        if versions:
            ops.extend(set_flag_value(parsed, versions[0], change.version))
            ops.extend(Delete(v.words) for v in versions[1:])
        else:
            after_chart += ["--version", change.version]
    values = parsed.flag_uses("--values")
    files = list(change.values_files)
    if not values:
        for f in files:
            after_chart += ["-f", f]
    else:
        for index, use in enumerate(values):
            if index < len(files):
                ops.extend(set_flag_value(parsed, use, files[index]))
            else:
                ops.append(Delete(use.words))
        extra = files[len(values) :]
        if extra:
            raw = parsed.words[values[-1].words[0]].value
            spelling = "--values" if raw.startswith("--values") else "-f"
            ops.append(InsertAfter(values[-1].words[-1], _flags(spelling, extra)))
    if change.drop_static_sets:
        ops.extend(
            Delete(use.words)
            for use in parsed.flags
            if use.name.removeprefix("--") in MOVABLE_SET_KINDS
            and use.value is not None
            and not keeps_flag(parsed, use.name, use.value, use.words)
        )
    ops.append(Replace(parsed.chart_word, tuple(after_chart)))
    return ops


def kept_set_flags(parsed: ParsedHelm, change: CommandChange) -> tuple[SetFlag, ...]:
    """The `--set`-style flags that stay on the command (run-time values, `--set-file`)."""
    kept: list[SetFlag] = []
    for use in parsed.flags:
        kind = use.name.removeprefix("--")
        if kind not in (*MOVABLE_SET_KINDS, "set-file") or use.value is None:
            continue
        if change.drop_static_sets and not keeps_flag(parsed, use.name, use.value, use.words):
            continue
        word = parsed.words[use.words[-1]]
        for key, value in split_set_value(use.value, cast(SetKind, kind)):
            kept.append(SetFlag(cast(SetKind, kind), key, value, word.dynamic and "$" in value))
    return tuple(kept)


def keeps_flag(parsed: ParsedHelm, name: str, value: str, words: tuple[int, ...]) -> bool:
    """True when a `--set`-style flag stays on the command (its value is known at run time only,
    or it reads a file at deploy time)."""
    kind = name.removeprefix("--")
    if kind not in MOVABLE_SET_KINDS:
        return True  # --set-file reads a file at deploy time: it stays a flag
    word = parsed.words[words[-1]]
    if not word.dynamic:
        return False
    # a flag mixing static and run-time pairs stays whole: its static pairs stay flags too
    pairs = split_set_value(value, cast(SetKind, kind))
    return any("$" in v or "`" in v for _, v in pairs)


def set_flag_value(parsed: ParsedHelm, use: FlagUse, value: str) -> list[Op]:
    if len(use.words) == 2:
        if parsed.words[use.words[1]].value == value:
            return []
        return [Replace(use.words[1], (value,))]
    raw = parsed.words[use.words[0]].value
    if raw.startswith("--"):
        flag = raw.partition("=")[0]
        return [] if use.value == value else [Replace(use.words[0], (f"{flag}={value}",))]
    return [] if use.value == value else [Replace(use.words[0], (raw[:2], value))]


def _flags(flag: str, values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out += [flag, v]
    return tuple(out)


# --- as text -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def quote(word: str) -> str:
    """Quote a word for the shell unless it is plain; `$VAR`/`${VAR}` stay expandable."""
    if "$" in word and all(c not in word for c in "'\"`\\ \t\n;&|<>()"):
        return word  # a file pattern such as deploy/values-$ENV.yaml keeps expanding
    return shlex.quote(word)


def text_edits(parsed: ParsedHelm, ops: list[Op]) -> list[Edit]:
    """The plan as edits of `parsed.text`; deleting flags alone on a continuation line removes
    the line (and the dangling backslash before it)."""
    text = parsed.text
    words = parsed.words
    edits: list[Edit] = []
    for op in _merge_deletes(ops):
        if isinstance(op, Replace):
            w = words[op.word]
            edits.append(Edit(w.start, w.end, " ".join(quote(x) for x in op.words)))
        elif isinstance(op, InsertAfter):
            w = words[op.word]
            edits.append(Edit(w.end, w.end, " " + " ".join(quote(x) for x in op.words)))
        else:
            edits.append(_delete(text, words[op.words[0]].start, words[op.words[-1]].end))
    return sorted(edits, key=lambda e: (e.start, e.end))


def _merge_deletes(ops: list[Op]) -> list[Op]:
    """Adjacent deleted flags become one deletion, so a line of them goes away whole."""
    deletes = sorted((op for op in ops if isinstance(op, Delete)), key=lambda d: d.words[0])
    merged: list[Delete] = []
    for d in deletes:
        if merged and merged[-1].words[-1] + 1 == d.words[0]:
            merged[-1] = Delete(merged[-1].words + d.words)
        else:
            merged.append(d)
    return [op for op in ops if not isinstance(op, Delete)] + list(merged)


def _delete(text: str, start: int, end: int) -> Edit:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:start]
    after = text[end:line_end]
    if not before.strip() and after.strip() in ("", "\\"):
        if after.strip() == "\\":
            return Edit(line_start, min(line_end + 1, len(text)), "")
        # the last line of a continued command: drop it and the backslash that led to it
        if line_start > 0:
            prev = text[: line_start - 1].rstrip(" \t")
            if prev.endswith("\\"):
                return Edit(len(prev[:-1].rstrip(" \t")), line_end, "")
        return Edit(line_start, min(line_end + 1, len(text)), "")
    while start > line_start and text[start - 1] in " \t":
        start -= 1
    return Edit(start, end, "")


def apply_edits(text: str, edits: list[Edit]) -> str:
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            raise ValueError("overlapping edits")
        out.append(text[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)
