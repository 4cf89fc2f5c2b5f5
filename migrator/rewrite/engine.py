"""Drive the rewrite: group references by file, edit each file once, add what the style needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from migrator.errors import RepoError
from migrator.locate.refs import chart_dir, points_at
from migrator.model import HelmInvocation
from migrator.rewrite import argoapp, ciinclude, declarative, python
from migrator.rewrite.command import Edit, apply_edits
from migrator.rewrite.scripts import FileOutcome, rewrite_commands, unrewritable_reason
from migrator.rewrite.target import WRAPPER_DIR, DeployAfter, RewriteResult, RewriteTarget
from migrator.rewrite.validate import check_still_valid
from migrator.rewrite.wrapper import wrapper_chart_yaml

_SCRIPT_SOURCES = ("gitlab-ci", "makefile", "shell")


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
    edits: dict[str, list[Edit]] = {}

    replaced_jobs = ciinclude.plan(repo_root, relevant, target) if _replaces_ci(target) else None
    for rel, file_refs in _by_file(relevant).items():
        text = _read(repo_root, rel)
        texts[rel] = text
        outcome = _rewrite_file(rel, text, file_refs, target, relevant)
        edits[rel] = outcome.edits
        deploys.extend(outcome.deploys)
        untouched.extend(outcome.untouched)

    if replaced_jobs is not None:
        ci = replaced_jobs.apply(texts, edits, deploys, untouched, target)
        notes.extend(ci.notes)
        for rel in ci.files:
            texts.setdefault(rel, _read(repo_root, rel))
        deploys = ci.deploys
        edits = ci.edits
        untouched = ci.untouched

    for rel, file_edits in edits.items():
        if not file_edits:
            continue
        new = apply_edits(texts[rel], _dedupe(file_edits))
        if new != texts[rel]:
            check_still_valid(rel, texts[rel], new)
            writes[rel] = new.encode("utf-8")

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
                yaml=source == "gitlab-ci",
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
    # a chart nobody can name before run time may be this one
    return not ref.rewritable and chart_dir(ref) is None and not _is_remote(ref.chart)


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


def _dedupe(edits: list[Edit]) -> list[Edit]:
    unique = sorted(set(edits), key=lambda e: (e.start, e.end, e.text))
    for a, b in zip(unique, unique[1:], strict=False):
        if b.start < a.end or (a.start == b.start and a.end == b.end):
            raise RepoError(f"two rewrites of the same text disagree at offset {a.start}")
    return unique


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RepoError(f"{rel}: cannot read: {exc}") from exc


__all__ = ["rewrite_references", "unrewritable_reason"]
