"""What a rewrite aims at, and what it gives back: the records of the rewrite stage."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Literal

from migrator.model import HelmInvocation, SetFlag

Style = Literal["values-only", "dependency", "ci-include", "argocd"]
STYLES: tuple[Style, ...] = ("values-only", "dependency", "ci-include", "argocd")
WRAPPER_DIR = "deploy/chart"


@dataclass(frozen=True)
class CiInclude:
    """The central deploy template a `ci-include` rewrite includes and extends."""

    project: str  # "platform/ci-templates"
    ref: str  # "v3" or a commit
    file: str  # "/helm/deploy.yml"
    job: str = ".app-template-deploy"  # the hidden job the deploy jobs extend
    variables: tuple[tuple[str, str], ...] = ()  # extra variables every deploy job passes


@dataclass(frozen=True)
class ArgoTarget:
    """Where the generated Argo CD Applications deploy from and to."""

    repo_url: str  # the app repository (source of `$values`)
    target_revision: str = "HEAD"
    project: str = "default"
    dest_server: str = "https://kubernetes.default.svc"
    dest_namespace: str | None = None  # None: each deploy's own --namespace
    keep_ci_jobs: bool = False  # keep the CI deploy jobs next to the Applications
    directory: str = "deploy/argocd"


@dataclass(frozen=True)
class RewriteTarget:
    style: Style
    chart_path: str  # repo-relative embedded chart dir being removed
    chart_ref: str  # "oci://registry.example.com/charts/app-template", or a repository URL
    chart_name: str  # "app-template" (needed when chart_ref is a repository URL)
    version: str  # target version, written as --version
    env_values: dict[str, tuple[str, ...]]  # env -> new values files in order (repo-relative)
    env_of: dict[tuple[str, int], str]  # (file, line) of each invocation -> its env name
    ci_include: CiInclude | None = None
    argocd: ArgoTarget | None = None
    app_name: str | None = None  # wrapper chart name and dependency alias; default: chart dir

    @property
    def app(self) -> str:
        return self.app_name or posixpath.basename(posixpath.normpath(self.chart_path))

    @property
    def is_oci(self) -> bool:
        return self.chart_ref.startswith("oci://")


@dataclass(frozen=True)
class DeployAfter:
    """How one rewritten invocation deploys after the change (the engine renders it)."""

    invocation: HelmInvocation  # the original
    env: str
    release: str | None
    namespace: str | None
    chart: str  # the central reference, or the wrapper chart directory
    version: str | None
    values_files: tuple[str, ...]  # repo-relative, in order
    set_flags: tuple[SetFlag, ...]  # what is still passed as flags (dynamic ones)
    repo: str | None = None  # chart repository URL when `chart` is a name in it


@dataclass(frozen=True)
class RewriteResult:
    writes: dict[str, bytes | None]  # repo-relative path -> new bytes (None = delete)
    deploys: tuple[DeployAfter, ...]
    untouched: tuple[tuple[HelmInvocation, str], ...]  # left alone, and why
    notes: tuple[str, ...] = field(default=())  # what a reviewer should know (jobs removed ...)
