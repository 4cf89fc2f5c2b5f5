"""The `ci-include` style (and the removal of CI deploy jobs for `argocd`).

Each CI job that deploys the chart is replaced by a job that `extends:` the central deploy
template, included with `include: {project, ref, file}`, and passes what the deploy needs as
variables. The job keeps its own keys that say *when* and *where* it runs (stage, environment,
rules, needs ...), verbatim; keys it got from a parent it no longer extends are written out; its
scripts, image and the parent go. `central_template_yaml` is the contract: the hidden job the
central project must offer, reading exactly these variables.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migrator.errors import ConfigError, RepoError
from migrator.model import HelmInvocation
from migrator.refs.gitlabci import CI_FILE, CiJob, ci_jobs
from migrator.refs.yamlpos import Located, Tagged
from migrator.rewrite.command import Edit
from migrator.rewrite.declarative import json_str
from migrator.rewrite.target import DeployAfter, RewriteTarget
from migrator.rewrite.yamltext import Lines, load, scalar

# Keys that say when and where a job runs: kept (own lines verbatim, inherited ones written out).
KEEP = ("stage", "environment", "rules", "only", "except", "when", "needs", "dependencies",
        "resource_group", "allow_failure", "timeout", "retry", "interruptible", "tags",
        "parallel", "trigger", "coverage", "artifacts", "cache", "inherit", "id_tokens",
        "secrets", "start_in", "release")  # fmt: skip
VARIABLES = ("RELEASE", "NAMESPACE", "VALUES_FILES", "CHART_VERSION", "HELM_EXTRA_ARGS")


def central_template_yaml(target: RewriteTarget) -> str:
    """The hidden job a `ci-include` rewrite extends, as the central project should publish it.
    App jobs set RELEASE, NAMESPACE, VALUES_FILES (space-separated, in order), CHART_VERSION and,
    for values known only at deploy time, HELM_EXTRA_ARGS."""
    job = target.ci_include.job if target.ci_include else ".app-template-deploy"
    chart = target.chart_ref if target.is_oci else f"--repo {target.chart_ref} {target.chart_name}"
    return _TEMPLATE.replace(".app-template-deploy", job).replace("@CHART@", chart)


_TEMPLATE = """\
.app-template-deploy:
  image: alpine/helm:3.16.4
  variables:
    CENTRAL_CHART: "@CHART@"
  script:
    - >-
      helm upgrade --install "$RELEASE" $CENTRAL_CHART
      --version "$CHART_VERSION"
      --namespace "$NAMESPACE"
      $(for f in $VALUES_FILES; do printf -- '-f %s ' "$f"; done)
      $HELM_EXTRA_ARGS
"""


@dataclass
class CiOutcome:
    edits: dict[str, list[Edit]]
    deploys: list[DeployAfter]
    untouched: list[tuple[HelmInvocation, str]]
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class CiPlan:
    root: Path
    jobs: dict[str, CiJob]
    remove: bool  # argocd: delete the jobs instead of replacing them

    def apply(
        self,
        texts: dict[str, str],
        edits: dict[str, list[Edit]],
        deploys: Sequence[DeployAfter],
        untouched: Sequence[tuple[HelmInvocation, str]],
        target: RewriteTarget,
    ) -> CiOutcome:
        out = CiOutcome({k: list(v) for k, v in edits.items()}, list(deploys), list(untouched))
        if not self.remove and target.ci_include is None:
            raise ConfigError("the ci-include reference style needs the central template")
        by_job: dict[str, list[DeployAfter]] = {}
        for d in deploys:
            inv = d.invocation
            if inv.source == "gitlab-ci" and inv.subcommand in ("upgrade", "install"):
                by_job.setdefault(inv.context, []).append(d)
        replaced = 0
        for name, job_deploys in sorted(by_job.items()):
            reason = self._replace(name, job_deploys, texts, out, target)
            if reason:
                out.notes.append(f"CI job {name} kept as a helm command: {reason}")
            else:
                replaced += 1
        if replaced and not self.remove:
            self._include(texts, out, target)
        return out

    def _replace(
        self,
        name: str,
        job_deploys: list[DeployAfter],
        texts: dict[str, str],
        out: CiOutcome,
        target: RewriteTarget,
    ) -> str | None:
        job = self.jobs.get(name)
        if job is None or len(job.files) != 1:
            return "the job is defined in several files"
        if len({(d.release, d.namespace, d.values_files) for d in job_deploys}) != 1:
            return "the job deploys more than once"
        rel = job.files[0]
        text = texts.get(rel)
        if text is None:
            text = (self.root / rel).read_text(encoding="utf-8")
            texts[rel] = text
            out.files.append(rel)
        lines = Lines(text)
        doc = next((d for d in load(text) if isinstance(d, CommentedMap) and name in d), None)
        if doc is None:
            return "the job's key was not found in its file"
        key_line = doc.lc.key(name)[0]
        end = lines.block_end(key_line, 0)
        while end - 1 > key_line and not lines.lines[end - 1].strip():
            end -= 1  # blank lines after the job belong to the layout, not the job
        start_offset = lines.start(key_line)
        end_offset = lines.start(end) if end < len(lines.lines) else len(text)
        file_edits = out.edits.setdefault(rel, [])
        file_edits[:] = [e for e in file_edits if e.end <= start_offset or e.start >= end_offset]
        if self.remove:
            stop = end
            while stop < len(lines.lines) and not lines.lines[stop].strip():
                stop += 1  # and the blank lines that separated it from the next key
            stop_offset = lines.start(stop) if stop < len(lines.lines) else len(text)
            file_edits.append(Edit(start_offset, stop_offset, ""))
            out.notes.append(f"CI job {name} removed ({rel}): Argo CD deploys it now")
            return None
        own = doc[name] if isinstance(doc[name], CommentedMap) else CommentedMap()
        block = _job_block(name, own, job, lines, job_deploys[0], target)
        file_edits.append(Edit(start_offset, end_offset, block))
        assert target.ci_include is not None
        out.notes.append(
            f"CI job {name} ({rel}) now extends {target.ci_include.job} from "
            f"{target.ci_include.project}@{target.ci_include.ref}"
        )
        return None

    def _include(self, texts: dict[str, str], out: CiOutcome, target: RewriteTarget) -> None:
        inc = target.ci_include
        assert inc is not None
        if CI_FILE not in texts:
            texts[CI_FILE] = (self.root / CI_FILE).read_text(encoding="utf-8")
            out.files.append(CI_FILE)
        text = texts[CI_FILE]
        lines = Lines(text)
        doc = next((d for d in load(text) if isinstance(d, CommentedMap)), None)
        if doc is None:
            raise RepoError(f"{CI_FILE}: not a mapping")
        item = [
            f"  - project: {scalar(inc.project)}",
            f"    ref: {scalar(inc.ref)}",
            f"    file: {scalar(inc.file)}",
        ]
        file_edits = out.edits.setdefault(CI_FILE, [])
        existing = doc.get("include")
        if existing is None:
            first = doc.lc.key(next(iter(doc)))[0] if doc else 0
            block = "include:\n" + "".join(x + "\n" for x in item) + "\n"
            file_edits.append(Edit(lines.start(first), lines.start(first), block))
            return
        key_line = doc.lc.key("include")[0]
        end = lines.block_end(key_line, 0)
        while end - 1 > key_line and not lines.lines[end - 1].strip():
            end -= 1
        if isinstance(existing, CommentedSeq) and not existing.fa.flow_style() and existing:
            row, col = existing.lc.item(0)
            dash = " " * (col - 2)
            shifted = [dash + x[2:] for x in item]
            at = lines.start(end) if end < len(lines.lines) else len(text)
            prefix = "" if text[:at].endswith("\n") else "\n"
            file_edits.append(Edit(at, at, prefix + "".join(x + "\n" for x in shifted)))
            return
        old = existing if isinstance(existing, list) else [existing]
        rendered = _dump({"include": [_plain(x) for x in old]}).rstrip("\n").split("\n")
        block = "\n".join(rendered + item) + "\n"
        stop = lines.start(end) if end < len(lines.lines) else len(text)
        file_edits.append(Edit(lines.start(key_line), stop, block))


def plan(root: Path, refs: Sequence[HelmInvocation], target: RewriteTarget) -> CiPlan:
    return CiPlan(root, ci_jobs(root), remove=target.style == "argocd")


def _job_block(
    name: str,
    own: CommentedMap,
    job: CiJob,
    lines: Lines,
    deploy: DeployAfter,
    target: RewriteTarget,
) -> str:
    inc = target.ci_include
    assert inc is not None
    out = [f"{name}:", f"  extends: {scalar(inc.job)}"]
    keys = [k for k, _ in own.non_merged_items()]  # merged keys (`<<: *x`) live elsewhere
    for key in keys:
        if key in KEEP:
            out.extend(_key_lines(own, key, keys, lines))
    for key in KEEP:
        if key not in keys and key in job.extended:
            rendered = _dump({key: _plain(job.extended[key])}).rstrip("\n").split("\n")
            out.extend("  " + x for x in rendered)
    out.append("  variables:")
    own_vars = own.get("variables") if "variables" in keys else None
    if isinstance(own_vars, CommentedMap) and not own_vars.fa.flow_style():
        names = [k for k, _ in own_vars.non_merged_items()]
        for var in names:
            if var not in VARIABLES:
                out.extend(_key_lines(own_vars, var, names, lines))
    elif isinstance(own_vars, dict):
        for var, value in own_vars.items():
            if var not in VARIABLES:
                rendered = _dump({var: _plain(value)}).rstrip("\n").split("\n")
                out.extend("    " + x for x in rendered)
    ours: list[tuple[str, str]] = []
    if deploy.release:
        ours.append(("RELEASE", deploy.release))
    if deploy.namespace:
        ours.append(("NAMESPACE", deploy.namespace))
    ours.append(("VALUES_FILES", " ".join(deploy.values_files)))
    ours.append(("CHART_VERSION", target.version))
    extra = " ".join(f"--{f.kind} {f.key}={f.value}" for f in deploy.set_flags)
    if extra:
        ours.append(("HELM_EXTRA_ARGS", extra))
    ours.extend(inc.variables)
    out.extend(f"    {k}: {json_str(v)}" for k, v in ours)
    return "\n".join(out) + "\n"


def _key_lines(node: CommentedMap, key: Any, keys: list[Any], lines: Lines) -> list[str]:
    """The lines of `key` in `node` exactly as written (up to the next key of `node`)."""
    row, col = node.lc.key(key)
    index = keys.index(key)
    stop = node.lc.key(keys[index + 1])[0] if index + 1 < len(keys) else lines.block_end(row, col)
    while stop - 1 > row and not lines.lines[stop - 1].strip():
        stop -= 1
    return lines.lines[row:stop]


def _plain(node: Any) -> Any:
    if isinstance(node, Located):
        return str(node)
    if isinstance(node, Tagged):
        return [_plain(x) for x in node.items]
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(x) for x in node]
    return node


def _dump(data: dict[str, Any]) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.default_flow_style = False
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
