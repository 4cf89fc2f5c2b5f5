"""The `argocd` style: one Argo CD `Application` per environment, deploying the central chart.

The Application is multi-source: the central chart at the target version, with value files read
from the app repository through `$values` (the second source, `ref: values`). Values passed at
deploy time by CI (`--set image.tag=$CI_COMMIT_SHA`) have no equivalent in a manifest kept in
git; they are listed in the notes, and the deploy is described without them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, replace

from migrator.errors import ConfigError
from migrator.rewrite.declarative import json_str
from migrator.rewrite.target import DeployAfter, RewriteTarget
from migrator.rewrite.yamltext import scalar


@dataclass(frozen=True)
class Applications:
    writes: dict[str, bytes | None]
    notes: tuple[str, ...]
    deploys: tuple[DeployAfter, ...]


def applications(deploys: Sequence[DeployAfter], target: RewriteTarget) -> Applications:
    """An Application for each environment a CI job deployed (environments an Argo CD manifest
    already deploys are rewritten in place instead). Makefiles, scripts and helmfiles keep their
    rewritten commands: they are how people deploy by hand, not the pipeline."""
    argo = target.argocd
    if argo is None:
        raise ConfigError("the argocd reference style needs an Argo CD target (the repo URL)")
    covered = {d.env for d in deploys if d.invocation.source == "argocd"}
    writes: dict[str, bytes | None] = {}
    notes: list[str] = []
    out: list[DeployAfter] = []
    seen: set[str] = set()
    for deploy in deploys:
        inv = deploy.invocation
        from_ci_job = inv.source == "gitlab-ci" and inv.subcommand in ("upgrade", "install")
        if not from_ci_job or deploy.env in covered:
            out.append(deploy)  # a rewritten command or manifest: it deploys as it says
            continue
        if deploy.env in seen:
            continue
        seen.add(deploy.env)
        path = posixpath.join(argo.directory, f"{target.app}-{deploy.env}.yaml")
        writes[path] = application_yaml(deploy, target).encode("utf-8")
        where = f"{inv.file}:{inv.line}"
        for flag in deploy.set_flags:
            notes.append(
                f"{where} passed `--{flag.kind} {flag.key}={flag.value}` at deploy time; "
                f"{path} cannot: set it in the values file or with an image updater"
            )
        out.append(replace(deploy, set_flags=()))
    return Applications(writes, tuple(notes), tuple(out))


def application_yaml(deploy: DeployAfter, target: RewriteTarget) -> str:
    argo = target.argocd
    assert argo is not None
    if target.is_oci:
        repo = target.chart_ref.removeprefix("oci://").rsplit("/", 1)[0]
        chart = target.chart_ref.rsplit("/", 1)[1]
    else:
        repo, chart = target.chart_ref, target.chart_name
    namespace = argo.dest_namespace or deploy.namespace or "default"
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Application",
        "metadata:",
        f"  name: {scalar(f'{target.app}-{deploy.env}')}",
        "  namespace: argocd",
        "spec:",
        f"  project: {scalar(argo.project)}",
        "  sources:",
        f"    - repoURL: {scalar(repo)}",
        f"      chart: {scalar(chart)}",
        f"      targetRevision: {json_str(target.version)}",
        "      helm:",
        f"        releaseName: {scalar(deploy.release or target.app)}",
        "        valueFiles:",
        *(f"          - {scalar('$values/' + f)}" for f in deploy.values_files),
        f"    - repoURL: {scalar(argo.repo_url)}",
        f"      targetRevision: {scalar(argo.target_revision)}",
        "      ref: values",
        "  destination:",
        f"    server: {scalar(argo.dest_server)}",
        f"    namespace: {scalar(namespace)}",
    ]
    return "\n".join(lines) + "\n"
