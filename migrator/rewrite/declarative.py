"""Rewrite declarative releases: helmfile releases, Argo CD sources, skaffold helm releases.

Each is a YAML mapping found again by the line the reference reported; its keys are edited in
place (chart, version, values list, static `set` entries). An Argo CD source pointing at the
chart path becomes a multi-source: the central chart with `$values/...` files, plus the app
repository as `ref: values`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migrator.model import HelmInvocation, SetFlag
from migrator.rewrite.command import Edit
from migrator.rewrite.envs import env_for
from migrator.rewrite.scripts import FileOutcome, deploy_after, unrewritable_reason
from migrator.rewrite.target import WRAPPER_DIR, DeployAfter, RewriteTarget
from migrator.rewrite.yamltext import (
    Lines,
    delete_lines,
    insert_lines_after,
    load,
    map_with_key_on_line,
    parent_of,
    replace_key_and_value,
    replace_value,
    scalar,
    sequence_edits,
)

ENV_NAME = "{{ .Environment.Name }}"


class _Unsafe(Exception):
    pass


def rewrite(
    rel: str, text: str, refs: Sequence[HelmInvocation], target: RewriteTarget
) -> FileOutcome:
    out = FileOutcome([], [], [])
    source = refs[0].source
    docs = load(text, templated=source == "helmfile", rel=rel)
    lines = Lines(text)
    groups: dict[int, list[HelmInvocation]] = {}
    for ref in refs:
        groups.setdefault(ref.line, []).append(ref)
    for line, group in groups.items():
        if not all(r.rewritable for r in group):
            out.untouched.extend((r, unrewritable_reason(r)) for r in group)
            continue
        key = "path" if source == "argocd" else "name"
        node = map_with_key_on_line(docs, key, line - 1)
        if node is None and source != "argocd":
            node = map_with_key_on_line(docs, "chart", line - 1)
        if node is None:
            out.untouched.extend(
                (r, "the release could not be found again in the file") for r in group
            )
            continue
        try:
            if source == "helmfile":
                edits, deploys = _helmfile(rel, lines, node, group, target)
            elif source == "skaffold":
                edits, deploys = _skaffold(rel, lines, node, group, target)
            else:
                edits, deploys = _argocd(rel, lines, docs, node, group, target)
        except (_Unsafe, ValueError) as exc:
            out.untouched.extend((r, str(exc)) for r in group)
            continue
        out.edits.extend(edits)
        out.deploys.extend(deploys)
    return out


def _per_env(
    group: Sequence[HelmInvocation], target: RewriteTarget
) -> list[tuple[HelmInvocation, str]]:
    shared = len(group) > 1
    out = []
    for inv in group:
        env = env_for(inv, target, shared)
        if env is None or env not in target.env_values:
            raise _Unsafe(
                f"no environment known for this release ({inv.environment or inv.context})"
            )
        out.append((inv, env))
    return out


def _relative(files: Sequence[str], base: str) -> list[str]:
    return [posixpath.relpath(f, base or ".") for f in files]


def _common_files(
    entries: list[tuple[HelmInvocation, str]], target: RewriteTarget, base: str, placeholder: str
) -> list[str]:
    """The values list written once for every environment of the release; files that differ
    per environment by its name only are written with the templating placeholder."""
    lists = {tuple(_relative(target.env_values[env], base)) for _, env in entries}
    if len(lists) == 1:
        return list(lists.pop())
    lengths = {len(x) for x in lists}
    if len(lengths) != 1:
        raise _Unsafe("environments need different numbers of values files")
    out = []
    for j in range(lengths.pop()):
        candidates = set()
        for _, env in entries:
            f = _relative(target.env_values[env], base)[j]
            candidates.add(f.replace(env, placeholder) if f.count(env) == 1 else f)
        if len(candidates) != 1:
            raise _Unsafe("values files differ per environment in a way the file cannot express")
        out.append(candidates.pop())
    return out


def _static_sets(sets: Sequence[SetFlag]) -> bool:
    return any(not s.dynamic and s.kind != "set-file" for s in sets)


def _deploys(
    entries: list[tuple[HelmInvocation, str]], target: RewriteTarget, kept: tuple[SetFlag, ...]
) -> list[DeployAfter]:
    return [deploy_after(target, inv, env, target.env_values[env], kept) for inv, env in entries]


# --- helmfile ------------------------------------------------------------------------------------


def _helmfile(
    rel: str,
    lines: Lines,
    release: CommentedMap,
    group: Sequence[HelmInvocation],
    target: RewriteTarget,
) -> tuple[list[Edit], list[DeployAfter]]:
    base = posixpath.dirname(rel)
    entries = _per_env(group, target)
    edits: list[Edit] = []
    chart_line, chart_col = release.lc.key("chart")
    if target.style == "dependency":
        edits.append(
            replace_value(lines, chart_line, scalar(posixpath.relpath(WRAPPER_DIR, base or ".")))
        )
    else:
        if not target.is_oci:
            raise _Unsafe("a helmfile needs a `repositories:` entry for a chart repository URL")
        edits.append(replace_value(lines, chart_line, scalar(target.chart_ref)))
        edits.extend(_version(lines, release, chart_line, chart_col, target.version))
    files = [scalar(f) for f in _common_files(entries, target, base, ENV_NAME)]
    edits.extend(_values_list(lines, release, "values", files, chart_line, chart_col))
    _drop_static_set_entries(lines, release, edits)
    kept = tuple(s for s in group[0].set_flags if s.dynamic or s.kind == "set-file")
    return edits, _deploys(entries, target, kept)


def _version(
    lines: Lines, node: CommentedMap, after_line: int, col: int, version: str
) -> list[Edit]:
    if "version" in node:
        return [replace_value(lines, node.lc.key("version")[0], scalar(version))]
    return [insert_lines_after(lines, after_line, [" " * col + f"version: {json_str(version)}"])]


def json_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _values_list(
    lines: Lines,
    node: CommentedMap,
    key: str,
    files: list[str],
    after_line: int,
    col: int,
) -> list[Edit]:
    if key in node and isinstance(node[key], CommentedSeq):
        return sequence_edits(lines, node[key], files, node.lc.key(key)[0])
    if key in node:
        raise _Unsafe(f"`{key}` is not a list")
    block = [" " * col + f"{key}:"] + [" " * col + f"  - {f}" for f in files]
    return [insert_lines_after(lines, after_line, block)]


def _drop_static_set_entries(lines: Lines, release: CommentedMap, edits: list[Edit]) -> None:
    """Remove `set:` entries whose values are static (the engine moves them to values files)."""
    entries = release.get("set")
    if not isinstance(entries, CommentedSeq):
        return
    rows = [entries.lc.item(i)[0] for i in range(len(entries))]
    key_line, key_col = release.lc.key("set")
    end = lines.block_end(key_line, key_col)
    drop: list[int] = []
    for i, entry in enumerate(entries):
        value = str(entry.get("value", "")) if isinstance(entry, dict) else ""
        dynamic = "{{" in value or "__tpl" in value or "$" in value
        if isinstance(entry, dict) and "file" not in entry and not dynamic:
            drop.append(i)
    if len(drop) == len(entries):
        edits.append(delete_lines(lines, key_line, end))
        return
    for i in drop:
        stop = rows[i + 1] if i + 1 < len(rows) else end
        edits.append(delete_lines(lines, rows[i], stop))


# --- skaffold ------------------------------------------------------------------------------------


def _skaffold(
    rel: str,
    lines: Lines,
    release: CommentedMap,
    group: Sequence[HelmInvocation],
    target: RewriteTarget,
) -> tuple[list[Edit], list[DeployAfter]]:
    base = posixpath.dirname(rel)
    entries = _per_env(group, target)
    if len({env for _, env in entries}) != 1:
        raise _Unsafe("one skaffold release serves several environments")
    env = entries[0][1]
    edits: list[Edit] = []
    chart_line, chart_col = release.lc.key("chartPath")
    if target.style == "dependency":
        edits.append(
            replace_value(lines, chart_line, scalar(posixpath.relpath(WRAPPER_DIR, base or ".")))
        )
    elif target.is_oci:
        edits.append(
            replace_key_and_value(lines, chart_line, "remoteChart", scalar(target.chart_ref))
        )
        edits.extend(_version(lines, release, chart_line, chart_col, target.version))
    else:
        edits.append(
            replace_key_and_value(lines, chart_line, "remoteChart", scalar(target.chart_name))
        )
        edits.append(
            insert_lines_after(
                lines, chart_line, [" " * chart_col + f"repo: {scalar(target.chart_ref)}"]
            )
        )
        edits.extend(_version(lines, release, chart_line, chart_col, target.version))
    files = [scalar(f) for f in _relative(target.env_values[env], base)]
    edits.extend(_values_list(lines, release, "valuesFiles", files, chart_line, chart_col))
    kept: list[SetFlag] = []
    static = release.get("setValues")
    if isinstance(static, CommentedMap) and static:
        key_line, key_col = release.lc.key("setValues")
        edits.append(delete_lines(lines, key_line, lines.block_end(key_line, key_col)))
    for name, value in (release.get("setValueTemplates") or {}).items():
        kept.append(SetFlag("set", str(name), str(value), True))
    for name, value in (release.get("setFiles") or {}).items():
        kept.append(SetFlag("set-file", str(name), str(value), False))
    return edits, _deploys(entries, target, tuple(kept))


# --- Argo CD -------------------------------------------------------------------------------------


def _argocd(
    rel: str,
    lines: Lines,
    docs: list[object],
    source: CommentedMap,
    group: Sequence[HelmInvocation],
    target: RewriteTarget,
) -> tuple[list[Edit], list[DeployAfter]]:
    entries = _per_env(group, target)
    if len({env for _, env in entries}) != 1:
        raise _Unsafe("one Application serves several environments")
    inv, env = entries[0]
    helm = source.get("helm") if isinstance(source.get("helm"), CommentedMap) else None
    kept = tuple(s for s in inv.set_flags if s.dynamic)
    if target.style == "dependency":
        edits = [replace_value(lines, source.lc.key("path")[0], scalar(WRAPPER_DIR))]
        files = [scalar(f) for f in _relative(target.env_values[env], WRAPPER_DIR)]
        if helm is not None and "valueFiles" in helm:
            edits += sequence_edits(lines, helm["valueFiles"], files, helm.lc.key("valueFiles")[0])
        elif helm is not None:
            line, col = helm.lc.key(next(iter(helm)))
            edits.append(
                insert_lines_after(
                    lines,
                    line - 1,
                    [" " * col + "valueFiles:"] + [" " * col + f"  - {f}" for f in files],
                )
            )
        else:
            line, col = source.lc.key("path")
            edits.append(
                insert_lines_after(
                    lines,
                    line,
                    [" " * col + "helm:", " " * col + "  valueFiles:"]
                    + [" " * col + f"    - {f}" for f in files],
                )
            )
        if _static_sets(inv.set_flags):
            raise _Unsafe("static helm.parameters: move them to the values file by hand")
        return edits, _deploys(entries, target, kept)
    holder = parent_of(docs, source)
    if holder is None:
        raise _Unsafe("the source block could not be found")
    container, key = holder
    if isinstance(container, CommentedMap) and key == "source":
        key_line, key_col = container.lc.key("source")
        end = lines.block_end(key_line, key_col)
        block = _multi_source(source, helm, inv, target, env, key_col, kept)
        new = [" " * key_col + "sources:"] + block
        return [
            Edit(
                lines.start(key_line),
                lines.start(end) if end < len(lines.lines) else len(lines.text),
                "".join(x + "\n" for x in new),
            )
        ], _deploys(entries, target, kept)
    if isinstance(container, CommentedSeq):
        row, col = container.lc.item(key)
        stop = (
            container.lc.item(key + 1)[0]
            if key + 1 < len(container)
            else lines.block_end(row, col - 2)
        )
        # the item's keys start after "- ": the new items align their dashes with it
        block = _multi_source(source, helm, inv, target, env, col - 4, kept)
        return [
            Edit(
                lines.start(row),
                lines.start(stop) if stop < len(lines.lines) else len(lines.text),
                "".join(x + "\n" for x in block),
            )
        ], _deploys(entries, target, kept)
    raise _Unsafe("an unusual Argo CD source layout")


def _multi_source(
    source: CommentedMap,
    helm: CommentedMap | None,
    inv: HelmInvocation,
    target: RewriteTarget,
    env: str,
    indent: int,
    kept: tuple[SetFlag, ...],
) -> list[str]:
    pad = " " * indent
    if target.is_oci:
        repo = target.chart_ref.removeprefix("oci://").rsplit("/", 1)[0]
        name = target.chart_ref.rsplit("/", 1)[1]
    else:
        repo, name = target.chart_ref, target.chart_name
    out = [
        f"{pad}  - repoURL: {scalar(repo)}",
        f"{pad}    chart: {scalar(name)}",
        f"{pad}    targetRevision: {json_str(target.version)}",
        f"{pad}    helm:",
    ]
    if helm is not None and helm.get("releaseName"):
        out.append(f"{pad}      releaseName: {scalar(str(helm['releaseName']))}")
    out.append(f"{pad}      valueFiles:")
    out += [f"{pad}        - {scalar('$values/' + f)}" for f in target.env_values[env]]
    if kept:
        out.append(f"{pad}      parameters:")
        for s in kept:
            out.append(f"{pad}        - name: {scalar(s.key)}")
            out.append(f"{pad}          value: {json_str(s.value)}")
            if s.kind == "set-string":
                out.append(f"{pad}          forceString: true")
    out += [
        f"{pad}  - repoURL: {scalar(str(source.get('repoURL', '')))}",
        f"{pad}    targetRevision: {scalar(str(source.get('targetRevision', 'HEAD')))}",
        f"{pad}    ref: values",
    ]
    return out
