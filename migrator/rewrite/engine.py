"""Drive the rewrite: group references by file, edit each file once, add what the style needs."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from migrator.errors import RepoError
from migrator.locate.refs import chart_dir, names_archive, points_at
from migrator.model import HelmInvocation
from migrator.rewrite import argoapp, ciinclude, declarative, newlines, python
from migrator.rewrite.command import Edit, apply_edits
from migrator.rewrite.deadvars import drop_dead_definitions
from migrator.rewrite.newlines import Endings
from migrator.rewrite.scripts import FileOutcome, rewrite_commands, unrewritable_reason
from migrator.rewrite.target import WRAPPER_DIR, DeployAfter, RewriteResult, RewriteTarget
from migrator.rewrite.validate import check_still_valid
from migrator.rewrite.wrapper import wrapper_chart_yaml

# Sources whose commands are shell text in the file (YAML ones hold it in script items).
_SCRIPT_SOURCES = ("gitlab-ci", "makefile", "shell", "github-actions", "jenkins", "taskfile")
_YAML_SCRIPTS = ("gitlab-ci", "github-actions", "taskfile")


def rewrite_references(
    repo_root: Path, refs: Sequence[HelmInvocation], target: RewriteTarget
) -> RewriteResult:
    """Rewrite the references to `target.chart_path` among `refs` in the style of `target`.

    References to other charts are ignored; references whose chart cannot be told (built at run
    time) are listed as untouched, since they may deploy the chart being removed.
    """
    relevant = [r for r in refs if _concerns(r, target, repo_root)]
    untouched: list[tuple[HelmInvocation, str]] = []
    deploys: list[DeployAfter] = []
    writes: dict[str, bytes | None] = {}
    notes: list[str] = []
    texts: dict[str, str] = {}
    endings: dict[str, Endings] = {}
    edits: dict[str, list[Edit]] = {}

    replaced_jobs = ciinclude.plan(repo_root, relevant, target) if _replaces_ci(target) else None
    for rel, file_refs in _by_file(relevant).items():
        text, endings[rel] = _read(repo_root, rel)
        texts[rel] = text
        outcome = _rewrite_file(rel, text, file_refs, target, relevant)
        edits[rel] = outcome.edits
        deploys.extend(outcome.deploys)
        untouched.extend(outcome.untouched)

    if replaced_jobs is not None:
        ci = replaced_jobs.apply(texts, edits, deploys, untouched, target)
        notes.extend(ci.notes)
        for rel in ci.files:
            text, endings[rel] = _read(repo_root, rel)
            texts.setdefault(rel, text)
        deploys = ci.deploys
        edits = ci.edits
        untouched = ci.untouched

    sources = {r.file: r.source for r in relevant}
    removed = [target.chart_path, posixpath.basename(target.chart_path),
               *{posixpath.basename(f) for r in relevant for f in r.values_files}]
    for rel, file_edits in edits.items():
        if not file_edits:
            continue
        merged, clash = merge_edits(file_edits)
        if clash is not None:
            # Two rewrites of one file disagree: the file stays as it is, for a person.
            line = texts[rel].count("\n", 0, clash) + 1
            why = f"two rewrites of line {line} disagree: the file is left for a person"
            deploys = [d for d in deploys if d.invocation.file != rel]
            untouched = [u for u in untouched if u[0].file != rel]
            untouched.extend((r, why) for r in relevant if r.file == rel)
            continue
        new = apply_edits(texts[rel], merged)
        if rel in sources:
            new = drop_dead_definitions(texts[rel], new, sources[rel], removed)
        if new != texts[rel]:
            check_still_valid(rel, texts[rel], new)
            writes[rel] = newlines.restore(new, endings[rel]).encode("utf-8")

    if target.style == "dependency":
        writes[f"{WRAPPER_DIR}/Chart.yaml"] = wrapper_chart_yaml(target).encode("utf-8")
    if target.style == "argocd":
        extra = argoapp.applications(deploys, target)
        writes.update(extra.writes)
        notes.extend(extra.notes)
        deploys = list(extra.deploys)
    return RewriteResult(writes, tuple(deploys), tuple(untouched), tuple(notes))


def _replaces_ci(target: RewriteTarget) -> bool:
    if target.style == "ci-include":
        return True
    return target.style == "argocd" and not (target.argocd and target.argocd.keep_ci_jobs)


def _rewrite_file(
    rel: str,
    text: str,
    refs: list[HelmInvocation],
    target: RewriteTarget,
    all_refs: Sequence[HelmInvocation],
) -> FileOutcome:
    source = refs[0].source
    if source in _SCRIPT_SOURCES:
        out = FileOutcome([], [], [])
        built: set[str] = set()
        for group in _by_command(refs):
            got = rewrite_commands(
                text,
                group,
                target,
                make=source == "makefile",
                yaml=source in _YAML_SCRIPTS,
                all_refs=all_refs,
                built=built,
            )
            out.edits.extend(got.edits)
            out.deploys.extend(got.deploys)
            out.untouched.extend(got.untouched)
        return out
    if source == "python":
        return python.rewrite_python(rel, text, refs, target)
    if source in ("helmfile", "argocd", "skaffold"):
        return declarative.rewrite(rel, text, refs, target)
    return FileOutcome([], [], [(r, f"no rewrite for {source} files") for r in refs])


def _concerns(ref: HelmInvocation, target: RewriteTarget, root: Path) -> bool:
    if points_at(ref, target.chart_path, root):
        return True
    # a chart nobody can name before run time may be this one, unless it is a packaged chart
    return (not ref.rewritable and chart_dir(ref) is None and not _is_remote(ref.chart)
            and not names_archive(ref))


def _is_remote(chart: str | None) -> bool:
    return bool(chart) and "://" in (chart or "")


def _by_file(refs: Sequence[HelmInvocation]) -> dict[str, list[HelmInvocation]]:
    out: dict[str, list[HelmInvocation]] = {}
    for ref in refs:
        out.setdefault(ref.file, []).append(ref)
    return out


def _by_command(refs: Sequence[HelmInvocation]) -> list[list[HelmInvocation]]:
    """Invocations written by the same text (one template, several jobs) rewrite together,
    in the order of the file."""
    out: dict[tuple[int, str], list[HelmInvocation]] = {}
    for ref in sorted(refs, key=lambda r: r.line):
        out.setdefault((ref.line, ref.text), []).append(ref)
    return list(out.values())


def merge_edits(edits: Sequence[Edit]) -> tuple[list[Edit], int | None]:
    """The edits of one file in the order they apply, and the offset where two of them
    disagree (None when they all agree).

    Rewrites of different references may meet in one place: the same edit twice (one command
    serving two jobs), or two insertions at one point (a skaffold release gaining `version:` and
    `valuesFiles:` after its chart line), which are made one after the other, in the order they
    were asked, or two deletions that overlap. Two different edits of the same text cannot both
    be made.
    """
    unique = list(dict.fromkeys(edits))  # the same edit asked twice is made once
    order = {e: i for i, e in enumerate(unique)}
    merged: list[Edit] = []
    for edit in sorted(unique, key=lambda e: (e.start, e.end > e.start, order[e])):
        last = merged[-1] if merged else None
        if last is None or edit.start >= last.end:
            merged.append(edit)
        elif last.text == edit.text == "":  # two deletions that overlap delete their union
            merged[-1] = Edit(last.start, max(last.end, edit.end), "")
        else:
            return merged, edit.start
    return merged, None


def _read(root: Path, rel: str) -> tuple[str, Endings]:
    """The file as `\\n` text (what the rewrites edit) and its own line endings."""
    try:
        raw = (root / rel).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RepoError(f"{rel}: cannot read: {exc}") from exc
    return newlines.split(raw)


__all__ = ["rewrite_references", "unrewritable_reason"]
