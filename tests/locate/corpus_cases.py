"""The deploy-file corpus: realistic inputs, their references, and their rewrites per style.

Each case directory holds `case.toml` (what the case shows, the chart it migrates, the
environments), `input/` (the repo files), `refs.toml` (the references that must be found) and
`expected/<style>/` (every file the style writes, byte for byte; `unchanged.txt` lists the input
files a style leaves alone, `same-as.txt` names a style whose output this one shares, and
`deploys.txt` / `untouched.txt` describe how the rewritten repo deploys and what was left).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.model import HelmInvocation
from migrator.rewrite import ArgoTarget, CiInclude, RewriteResult, RewriteTarget, Style

CORPUS = Path(__file__).parent / "corpus"
CENTRAL = "oci://registry.example.com/charts/app-template"


@dataclass(frozen=True)
class Case:
    name: str
    root: Path
    config: dict[str, Any]

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def envs(self) -> list[str]:
        return list(self.config["envs"])

    def expected(self, style: str) -> Path:
        return self.root / "expected" / style


def cases() -> list[Case]:
    return [
        Case(d.name, d, tomllib.loads((d / "case.toml").read_text()))
        for d in sorted(CORPUS.iterdir())
        if (d / "case.toml").is_file()
    ]


def env_values(case: Case) -> dict[str, tuple[str, ...]]:
    return {
        env: ("deploy/values.yaml",) if env == "default" else
        ("deploy/values.yaml", f"deploy/values-{env}.yaml")
        for env in case.envs
    }  # fmt: skip


def env_of(case: Case, refs: tuple[HelmInvocation, ...]) -> dict[tuple[str, int], str]:
    """What the engine tells the rewrite: the environment a fork's values file names, else the
    CI environment, else the only environment."""
    out: dict[tuple[str, int], str] = {}
    for ref in refs:
        named = [
            env
            for env in case.envs
            for f in ref.values_files
            if re.search(rf"values-{re.escape(env)}\.ya?ml$", f)
        ]
        if named:
            out[(ref.file, ref.line)] = named[-1]
        elif ref.environment in case.envs:
            out[(ref.file, ref.line)] = str(ref.environment)
        elif len(case.envs) == 1:
            out[(ref.file, ref.line)] = case.envs[0]
    return out


def target(case: Case, style: Style, refs: tuple[HelmInvocation, ...]) -> RewriteTarget:
    return RewriteTarget(
        style=style,
        chart_path=case.config["chart_path"],
        chart_ref=case.config.get("chart_ref", CENTRAL),
        chart_name="app-template",
        version="2.3.0",
        env_values=env_values(case),
        env_of=env_of(case, refs),
        ci_include=CiInclude("platform/helm-templates", "v2", "/templates/deploy.yml"),
        argocd=ArgoTarget("https://gitlab.example.com/shop/orders.git"),
        app_name="orders",
    )


def describe_deploys(result: RewriteResult) -> str:
    lines = []
    for d in result.deploys:
        sets = " ".join(f"--{s.kind} {s.key}={s.value}" for s in d.set_flags)
        repo = f" --repo {d.repo}" if d.repo else ""
        lines.append(
            f"{d.invocation.file}:{d.invocation.line} {d.env}: release={d.release} "
            f"namespace={d.namespace} chart={d.chart}{repo} version={d.version} "
            f"values={','.join(d.values_files)}" + (f" {sets}" if sets else "")
        )
    return "".join(x + "\n" for x in lines)


def describe_untouched(result: RewriteResult) -> str:
    return "".join(f"{inv.file}:{inv.line} {why}\n" for inv, why in result.untouched)
