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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migrator.errors import ConfigError, RepoError
from migrator.locate.helmcmd import parse_helm_command
from migrator.locate.refs.gitlabci import CI_FILE, CiJob, ci_jobs, flatten_script
from migrator.locate.refs.yamlpos import Located, Tagged
from migrator.locate.shellwords import split_commands
from migrator.model import HelmInvocation
from migrator.rewrite.command import Edit, keeps_flag
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
        visible = [n for n in self.jobs if not n.startswith(".")]
        if self.remove and replaced and replaced >= len(visible):
            out.notes.append(
                "no CI job is left: GitLab rejects a pipeline without jobs, so delete "
                f"{CI_FILE} or keep a job in it"
            )
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
        blocker, keep_before = _blocker(job, job_deploys[0])
        if blocker and not self.remove:
            return blocker
        rel = job.files[0]
        text = texts.get(rel)
        if text is None:
            text = (self.root / rel).read_text(encoding="utf-8")
            texts[rel] = text
            out.files.append(rel)
        lines = Lines(text)
        doc = next((d for d in load(text, rel=rel) if isinstance(d, CommentedMap) and name in d),
                   None)
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
        block = _job_block(name, own, job, lines, job_deploys[0], target, keep_before)
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
        doc = next((d for d in load(text, rel=CI_FILE) if isinstance(d, CommentedMap)), None)
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
        block = "\n".join(_rendered({"include": old}, "") + item) + "\n"
        stop = lines.start(end) if end < len(lines.lines) else len(text)
        file_edits.append(Edit(lines.start(key_line), stop, block))


def plan(root: Path, refs: Sequence[HelmInvocation], target: RewriteTarget) -> CiPlan:
    return CiPlan(root, ci_jobs(root), remove=target.style == "argocd")


def _blocker(job: CiJob, deploy: DeployAfter) -> tuple[str | None, bool]:
    """Why the job cannot become a template job (it does more than deploy), and whether its
    before_script, which does not touch the chart (`kubectl config use-context`), must stay."""
    commands = {
        key: [
            cmd
            for item in flatten_script(job.resolved.get(key))
            for _, cmd in split_commands(str(item))
        ]
        for key in ("before_script", "script", "after_script")
    }
    assigned = {
        m.group(1) for cmds in commands.values() for cmd in cmds for m in [_ASSIGN.match(cmd)] if m
    }
    for var in _VAR.findall(extra_args(deploy)):
        if var in assigned:
            return f"the deploy uses ${var}, which the job's script computes", False
    parsed = parse_helm_command(deploy.invocation.text)
    if parsed is not None and any(" " in w.value for w in parsed.words):
        return "an argument holds spaces, which HELM_EXTRA_ARGS cannot carry", False
    for key in ("script", "after_script"):
        for cmd in commands[key]:
            if not _replaceable(cmd):
                return f"the job also runs `{cmd.splitlines()[0]}`", False
    before = commands["before_script"]
    if all(_replaceable(c) for c in before):
        return None, False
    if any(parse_helm_command(c) is not None for c in before):
        return "its before_script mixes helm with other commands", False
    return None, True


_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_HARMLESS = ("echo", "printf", "true", ":", "set", "export")


def _replaceable(cmd: str) -> bool:
    """A command the central template does itself, or one that changes nothing."""
    parsed = parse_helm_command(cmd)
    if parsed is not None:
        return parsed.verb in ("upgrade", "install") or parsed.subcommand.startswith(
            ("dependency ", "repo ")
        )
    words = cmd.split()
    return not words or words[0] in _HARMLESS or bool(_ASSIGN.match(cmd))


def _job_block(
    name: str,
    own: CommentedMap,
    job: CiJob,
    lines: Lines,
    deploy: DeployAfter,
    target: RewriteTarget,
    keep_before: bool,
) -> str:
    inc = target.ci_include
    assert inc is not None
    out = [f"{name}:", f"  extends: {scalar(inc.job)}"]
    keys = [k for k, _ in own.non_merged_items()]  # merged keys (`<<: *x`) live elsewhere
    kept = KEEP + (("before_script",) if keep_before else ())
    for key in keys:
        if key in kept:
            out.extend(_key_lines(own, key, keys, lines))
    if keep_before and "before_script" not in keys:
        out.extend(_rendered({"before_script": job.resolved["before_script"]}, "  "))
    for key in KEEP:
        if key not in keys and key in job.extended:
            out.extend(_rendered({key: job.extended[key]}, "  "))
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
                out.extend(_rendered({var: value}, "    "))
    ours: list[tuple[str, str]] = []
    if deploy.release:
        ours.append(("RELEASE", deploy.release))
    if deploy.namespace:
        ours.append(("NAMESPACE", deploy.namespace))
    ours.append(("VALUES_FILES", " ".join(deploy.values_files)))
    ours.append(("CHART_VERSION", target.version))
    extra = extra_args(deploy)
    if extra:
        ours.append(("HELM_EXTRA_ARGS", extra))
    ours.extend(inc.variables)
    out.extend(f"    {k}: {json_str(v)}" for k, v in ours)
    return "\n".join(out) + "\n"


# Flags the central template passes itself, or that the rewrite moved into the values files.
_TEMPLATE_FLAGS = ("--namespace", "--version", "--values", "--install", "--repo")


def extra_args(deploy: DeployAfter) -> str:
    """The original command's other arguments (`--atomic --timeout 5m`, run-time `--set`,
    `$HELM_ARGS`), for HELM_EXTRA_ARGS. The template expands that variable unquoted, so words
    are passed without their shell quotes; GitLab expands the variables they use."""
    parsed = parse_helm_command(deploy.invocation.text)
    if parsed is None:
        return ""
    picked: set[int] = set()
    for use in parsed.flags:
        if use.name in _TEMPLATE_FLAGS:
            continue
        is_set = use.name.removeprefix("--").startswith("set") and use.value is not None
        if is_set and not keeps_flag(parsed, use.name, use.value or "", use.words):
            continue
        picked.update(use.words)
    roles = {parsed.release_word, parsed.chart_word}
    picked.update(i for i in parsed.positionals if i not in roles)
    return " ".join(parsed.words[i].value for i in sorted(picked))


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


def _rendered(data: dict[str, Any], indent: str) -> list[str]:
    """Lines of `data` as block YAML, each prefixed with `indent`."""
    return [
        indent + x for x in _dump({k: _plain(v) for k, v in data.items()}).rstrip("\n").split("\n")
    ]


def _dump(data: dict[str, Any]) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.default_flow_style = False
    yaml.width = 4096
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
