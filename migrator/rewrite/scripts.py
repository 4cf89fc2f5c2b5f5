"""Rewrite helm commands written as shell text: CI job scripts, Makefile recipes, shell scripts.

The edit is made on the command's own text in the file, found from the reference's line: only the
words that change are touched (chart, `--version`, `-f`, static `--set`), so the rest of the file,
and the rest of the command, keep every byte.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from migrator.locate.helmcmd import ParsedHelm, parse_helm_command
from migrator.locate.refs import run_dir
from migrator.locate.refs.makefile import as_shell
from migrator.locate.shellwords import split_command_spans, tokenize
from migrator.model import HelmInvocation, SetFlag
from migrator.rewrite.command import (
    CommandChange,
    Delete,
    Edit,
    Op,
    Replace,
    kept_set_flags,
    plan_ops,
    text_edits,
)
from migrator.rewrite.envs import ValuesChoice, choose_values
from migrator.rewrite.target import WRAPPER_DIR, DeployAfter, RewriteTarget

DEPLOY_VERBS = ("upgrade", "install", "template")
_MAKE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Located:
    """A command found in the file: where it starts and how it parses there."""

    offset: int
    parsed: ParsedHelm
    folded: bool


@dataclass
class FileOutcome:
    edits: list[Edit]
    deploys: list[DeployAfter]
    untouched: list[tuple[HelmInvocation, str]]


def locate(text: str, line: int, expected: Sequence[str], make: bool) -> Located | None:
    """Find the command whose words are `expected` starting on `line` (1-based) of `text`."""
    source = as_shell(text) if make else text
    lines = source.split("\n")
    if not expected or line < 1 or line > len(lines):
        return None
    line_start = sum(len(x) + 1 for x in lines[: line - 1])
    line_end = line_start + len(lines[line - 1])
    first = expected[0]
    pos = source.find(first, line_start, line_end)
    while pos >= 0:
        if pos == line_start or source[pos - 1] in " \t-@;&|(+{'\"":
            for folded in (False, True):
                found = _parse_at(source, pos, expected, folded)
                if found is not None:
                    return Located(pos, found, folded)
        pos = source.find(first, pos + 1, line_end)
    return None


def _parse_at(source: str, pos: int, expected: Sequence[str], folded: bool) -> ParsedHelm | None:
    rest = source[pos:]
    if folded:
        words = [w for w in tokenize(rest, folded=True)]
        plain = [w for w in words if not w.operator]
        if len(plain) < len(expected):
            return None
        end = plain[len(expected) - 1].end
    else:
        spans = split_command_spans(rest)
        if not spans:
            return None
        end = spans[0][2]
    for stop in (end, *_quote_ends(source, pos, end)):
        parsed = parse_helm_command(rest[:stop], folded=folded)
        if parsed is not None and [w.value for w in parsed.words] == list(expected):
            return parsed
    return None


def _quote_ends(source: str, pos: int, end: int) -> tuple[int, ...]:
    """Where a command handed to another shell in quotes may stop: at the quote closing the
    script around it (`sh -c 'helm ...'`, Jenkins `sh "helm ..."`). A YAML-quoted script item
    (`- "helm ..."`) is not one: YAML, not a shell, reads its escapes."""
    rest = source[pos : pos + end]
    quote = source[pos - 1] if pos > 0 else ""
    line_start = source.rfind("\n", 0, pos) + 1
    before = source[line_start : pos - 1].rstrip()
    if quote in ("'", '"'):
        if not before or before.endswith(("-", ":")):
            return ()
        return tuple(i for i, ch in enumerate(rest) if ch == quote)[:16]
    # the last command of a multi-line script: `  helm upgrade app ./chart'` ends the script
    closing = re.search(r"""['"][ \t]*$""", rest.split("\n", 1)[0])
    if closing and rest.count(rest[closing.start()], 0, closing.start()) == 0:
        return (closing.start(),)
    return ()


def chart_words(target: RewriteTarget) -> tuple[str, ...]:
    if target.style == "dependency":
        return (WRAPPER_DIR,)
    if target.is_oci:
        return (target.chart_ref,)
    return ("--repo", target.chart_ref, target.chart_name)


def deploy_after(
    target: RewriteTarget, inv: HelmInvocation, env: str, files: tuple[str, ...],
    sets: tuple[SetFlag, ...], variables: dict[str, str] | None = None,
) -> DeployAfter:  # fmt: skip
    dependency = target.style == "dependency"
    oci = target.is_oci
    implied = variables or {}
    return DeployAfter(
        invocation=inv,
        env=env,
        release=_fill(inv.release, implied),
        namespace=_fill(inv.namespace, implied),
        chart=WRAPPER_DIR if dependency else target.chart_ref if oci else target.chart_name,
        version=None if dependency else target.version,
        values_files=files,
        set_flags=sets,
        repo=None if dependency or oci else target.chart_ref,
    )


def rewrite_commands(
    text: str,
    group: Sequence[HelmInvocation],
    target: RewriteTarget,
    *,
    make: bool,
    yaml: bool,
    all_refs: Sequence[HelmInvocation],
    built: set[str] | None = None,
) -> FileOutcome:
    """Edits for one written command serving the invocations in `group` (same file and line).
    `built` collects the contexts (jobs, targets) already given a `helm dependency build`."""
    built = set() if built is None else built
    out = FileOutcome([], [], [])
    inv = group[0]
    if not all(i.rewritable for i in group):
        out.untouched.extend((i, unrewritable_reason(i)) for i in group)
        return out
    base = run_dir(inv)
    chart = target.chart_path.rstrip("/")
    if base and (base == chart or base.startswith(chart + "/")):
        reason = (f"runs inside the chart's own folder ({base}/), which the change removes: "
                  "move the command out of it by hand")
        out.untouched.extend((i, reason) for i in group)
        return out
    if base and target.style == "dependency":
        reason = f"runs in {base}/: the wrapper chart's path is not rewritten from there"
        out.untouched.extend((i, reason) for i in group)
        return out
    written = _seen_from(target, base)  # the new files as the command, run in `base`, names them
    expected = parse_helm_command(inv.text, folded=True)
    found = locate(text, inv.line, [w.value for w in expected.words], make) if expected else None
    if found is None:
        reason = "the command's text could not be matched in the file (quoted or escaped YAML?)"
        out.untouched.extend((i, reason) for i in group)
        return out
    parsed = found.parsed
    verb = parsed.verb
    if parsed.subcommand.startswith("dependency "):
        if target.style == "dependency":
            out.edits.extend(_shift(_replace_chart(parsed, WRAPPER_DIR), found.offset))
        else:
            edit = delete_command(text, found, yaml)
            if edit is None:
                out.untouched.extend(
                    (i, "builds the removed chart's dependencies inside a longer line")
                    for i in group
                )
            else:
                out.edits.append(edit)
        return out
    if verb not in DEPLOY_VERBS:
        if target.style == "dependency" and parsed.chart_word is not None:
            values_words = [parsed.words[u.words[-1]] for u in parsed.flag_uses("--values")]
            choice = choose_values(group, values_words, target) if values_words else None
            if isinstance(choice, str):
                out.untouched.extend((i, choice) for i in group)
                return out
            files = choice.files if choice is not None else ()
            change = CommandChange((WRAPPER_DIR,), None, files, drop_static_sets=False)
            out.edits.extend(_shift(text_edits(parsed, plan_ops(parsed, change)), found.offset))
            out.edits.extend(_dependency_build(text, found, yaml, make, group, all_refs, built))
        elif verb == "lint" and parsed.chart_word is not None:
            _lint_as_template(text, found, group, written, out)
        else:
            reason = f"`helm {parsed.subcommand}` of the removed chart has no central equivalent"
            out.untouched.extend((i, reason) for i in group)
        return out
    values_words = [parsed.words[u.words[-1]] for u in parsed.flag_uses("--values")]
    choice = choose_values(group, values_words, written)
    if isinstance(choice, str):
        out.untouched.extend((i, choice) for i in group)
        return out
    # the same choice, named from the repository root (what the deploy check renders)
    deployed = choice if written is target else choose_values(group, values_words, target)
    if isinstance(deployed, str):
        out.untouched.extend((i, deployed) for i in group)
        return out
    dependency = target.style == "dependency"
    change = CommandChange(
        chart_words(target),
        None if dependency else target.version,
        choice.files,
        drop_version=dependency,
    )
    ops = plan_ops(parsed, change)
    edits = text_edits(parsed, ops)
    if make:
        # a variable seen in a recipe is a make variable: keep make's spelling
        edits = [Edit(e.start, e.end, _MAKE_VAR.sub(r"$(\1)", e.text)) for e in edits]
    out.edits.extend(_shift(edits, found.offset))
    if target.style == "dependency":
        out.edits.extend(_dependency_build(text, found, yaml, make, group, all_refs, built))
    sets = kept_set_flags(parsed, change)
    out.deploys.extend(_deploys(target, deployed, sets))
    return out


def _seen_from(target: RewriteTarget, base: str) -> RewriteTarget:
    """`target` with its values files named from `base` (a command run in a sub-folder)."""
    if not base:
        return target
    return replace(target, env_values={
        env: tuple(posixpath.relpath(f, base) for f in files)
        for env, files in target.env_values.items()})


_LINT_ONLY_FLAGS = ("--strict", "--with-subcharts", "--quiet")


def _lint_as_template(text: str, found: Located, group: Sequence[HelmInvocation],
                      target: RewriteTarget, out: FileOutcome) -> None:
    """`helm lint <removed chart> -f x` becomes `helm template <central> --version V -f new`:
    the check that still means something once the chart is published centrally (the values
    render). Lint-only flags go; no deploy comes of it."""
    parsed = found.parsed
    values_words = [parsed.words[u.words[-1]] for u in parsed.flag_uses("--values")]
    if values_words:
        choice = choose_values(group, values_words, target)
        if isinstance(choice, str):
            out.untouched.extend((i, choice) for i in group)
            return
        files = choice.files
    elif len(target.env_values) == 1:
        files = next(iter(target.env_values.values()))
    else:
        reason = "`helm lint` without values files, and several environments to check"
        out.untouched.extend((i, reason) for i in group)
        return
    ops: list[Op] = [Replace(parsed.command_word + 1, ("template",))]
    ops += [Delete(use.words) for use in parsed.flags if use.name in _LINT_ONLY_FLAGS]
    ops += plan_ops(parsed, CommandChange(chart_words(target), target.version, files))
    out.edits.extend(_shift(text_edits(parsed, ops), found.offset))


def _deploys(
    target: RewriteTarget, choice: ValuesChoice, sets: tuple[SetFlag, ...]
) -> list[DeployAfter]:
    return [
        deploy_after(target, d.invocation, d.env, d.values_files, sets, dict(d.variables))
        for d in choice.deploys
    ]


def _fill(text: str | None, variables: dict[str, str]) -> str | None:
    """`text` with the run-time values an environment implies (`orders-$1` -> `orders-prod`)."""
    if text is None or not variables:
        return text
    for var, value in variables.items():
        text = re.sub(
            r"\$\{" + re.escape(var) + r"\}|\$" + re.escape(var) + r"(?![A-Za-z0-9_])", value, text
        )
    return text


def unrewritable_reason(inv: HelmInvocation) -> str:
    if inv.why:
        return inv.why
    if "(inline values)" in inv.text:
        return "values written inline in the manifest: move them to a values file first"
    return "the chart path or the release name is computed at run time"


def _replace_chart(parsed: ParsedHelm, chart: str) -> list[Edit]:
    assert parsed.chart_word is not None
    w = parsed.words[parsed.chart_word]
    return [Edit(w.start, w.end, chart)]


def _shift(edits: list[Edit], offset: int) -> list[Edit]:
    return [Edit(e.start + offset, e.end + offset, e.text) for e in edits]


def command_end(found: Located) -> int:
    return found.offset + found.parsed.words[-1].end


def delete_command(text: str, found: Located, yaml: bool) -> Edit | None:
    """Remove a command that stands alone on its lines (a YAML list item, a recipe line)."""
    start, end = found.offset, command_end(found)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:start].strip()
    after = text[end:line_end].strip()
    allowed = ("", "-") if yaml else ("", "@", "-", "@-", "-@")
    if before not in allowed or (after and not after.startswith("#")):
        return None
    stop = min(line_end + 1, len(text))
    if yaml and before == "-":
        key_start = _sole_item_key(text, line_start, stop)
        if key_start is not None:
            return Edit(key_start, stop, "")  # an empty script list is invalid: drop its key
    return Edit(line_start, stop, "")


def _sole_item_key(text: str, item_start: int, item_stop: int) -> int | None:
    """Start of the `key:` line when the list item at `item_start` is the key's only item."""
    dash = text[item_start:].index("-")
    prev_end = item_start - 1
    prev_start = text.rfind("\n", 0, max(prev_end, 0)) + 1
    prev = text[prev_start:prev_end] if prev_end > 0 else ""
    prev_indent = len(prev) - len(prev.lstrip(" "))
    if not prev.rstrip().endswith(":") or prev_indent > dash:
        return None
    rest = text[item_stop:].split("\n")
    following = next((x for x in rest if x.strip() and not x.strip().startswith("#")), "")
    indent = len(following) - len(following.lstrip(" "))
    if indent > dash or (indent == dash and following.lstrip().startswith("- ")):
        return None
    return prev_start


def _dependency_build(
    text: str,
    found: Located,
    yaml: bool,
    make: bool,
    group: Sequence[HelmInvocation],
    all_refs: Sequence[HelmInvocation],
    built: set[str],
) -> list[Edit]:
    """`helm dependency build deploy/chart` before the command, unless the job builds already."""
    contexts = {f"{i.source}:{i.file}:{i.context}" for i in group}
    if contexts <= built:
        return []  # an earlier command of the same job builds it
    built.update(contexts)
    for other in all_refs:
        if (
            other.subcommand.startswith("dependency ")
            and f"{other.source}:{other.file}:{other.context}" in contexts
        ):
            return []  # the existing dependency build now builds the wrapper
    helm = found.parsed.words[found.parsed.command_word].value
    command = f"{helm} dependency build {WRAPPER_DIR}"
    start = found.offset
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if yaml and before.strip() == "-":
        return [Edit(line_start, line_start, before + command + "\n")]
    if not yaml and not found.folded and before.strip() in ("", "@", "-", "@-", "-@"):
        return [Edit(line_start, line_start, before + command + "\n")]
    return [Edit(start, start, command + " && ")]
