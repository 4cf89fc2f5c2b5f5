"""Small real fleets for the propose/track/fleet tests: git repos with an embedded chart, and
RepoPlans whose patches are made by `git diff` on the cloned repos (not by the engine, so these
tests do not depend on it)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

from migrator import git
from migrator.model import CentralInfo, RepoPlan, RepoRef, Verdict
from migrator.report.reasons import reason
from testsupport.outcomes import outcome_for

CENTRAL = CentralInfo(name="app-template", source="fixtures/central", target_version="2.3.0",
                      versions=("1.4.0", "2.3.0"),
                      ref="oci://registry.example.com/charts/app-template")

HUMAN = {"GIT_AUTHOR_NAME": "Dana Dev", "GIT_AUTHOR_EMAIL": "dana@example.com",
         "GIT_COMMITTER_NAME": "Dana Dev", "GIT_COMMITTER_EMAIL": "dana@example.com"}


def app_files(name: str) -> dict[str, str]:
    return {
        f"deploy/helm/{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n",
        f"deploy/helm/{name}/values.yaml": "replicaCount: 2\nimage:\n  tag: \"1.0\"\n",
        f"deploy/helm/{name}/templates/deployment.yaml": "kind: Deployment\n",
        ".gitlab-ci.yml": (f"deploy:\n  script:\n    - helm upgrade --install {name} "
                           f"deploy/helm/{name} -f deploy/helm/{name}/values.yaml\n"),
        "README.md": f"# {name}\n",
    }


def make_repo(path: Path, files: Mapping[str, str], branch: str = "main") -> Path:
    """A non-bare repo at `path` with one commit holding `files`."""
    path.mkdir(parents=True, exist_ok=True)
    git.run(["init", "--quiet", "--initial-branch", branch], cwd=path)
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git.run(["add", "--all"], cwd=path)
    git.run(["commit", "--quiet", "-m", "initial"], cwd=path, env=HUMAN)
    return path


def migration_writes(name: str, version: str = CENTRAL.target_version) -> dict[str, bytes | None]:
    return {
        f"deploy/helm/{name}": None,
        "deploy/values.yaml": f"# central chart {version}\nnameOverride: {name}\n"
                              "replicaCount: 2\n".encode(),
        ".gitlab-ci.yml": (f"deploy:\n  script:\n    - helm upgrade --install {name} "
                           f"{CENTRAL.ref} --version {version} -f deploy/values.yaml\n").encode(),
    }


def plan_for(repo: RepoRef, clone: Path, verdict: Verdict = Verdict.READY,
             version: str = CENTRAL.target_version, extra: str = "") -> RepoPlan:
    """A RepoPlan whose patch really migrates the clone (made with `git diff`)."""
    name = repo.name.rsplit("/", 1)[-1]
    writes = migration_writes(name, version)
    if extra:
        writes["deploy/values-extra.yaml"] = extra.encode()
    patch = git.patch_for(clone, writes)
    commit = git.head(clone)
    plan_hash = hashlib.sha256(f"{commit}\n{version}\n{patch}".encode()).hexdigest()[:16]
    return RepoPlan(repo=repo, commit=commit, outcome=outcome_for(verdict),
                    patch=patch, plan_hash=plan_hash)


def git_out(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def describe(plan: RepoPlan, central: CentralInfo, settings: object) -> tuple[str, str]:
    """The real report when the report module is there; a stand-in otherwise."""
    try:
        from migrator.propose.describe import report_description
        return report_description(plan, central, settings)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - only while the report module is missing
        return (f"Use the central chart {central.name} {central.target_version}",
                f"Verdict: {plan.verdict.value}\n\n{reason(plan)}\n")


def clone_all(repos: list[RepoRef], cache: Path,
              env: Mapping[str, str] | None = None) -> dict[str, Path]:
    clones = {}
    for repo in repos:
        dest = cache / repo.slug
        git.clone_or_update(repo.url, dest, repo.default_branch, env=env)
        clones[repo.slug] = dest
    return clones


# --- a fleet on the GitLab simulator ---------------------------------------------------------

# Projects of the standard simulated fleet: path -> verdict its synthetic plan gets.
SIM_FLEET: dict[str, Verdict] = {
    "platform/apps/billing": Verdict.READY,
    "platform/apps/catalog": Verdict.READY,
    "platform/apps/checkout": Verdict.REVIEW,
    "platform/apps/inventory": Verdict.READY,
    "platform/apps/legacy/ledger": Verdict.READY,
    "platform/apps/legacy/mailer": Verdict.BLOCKED,
    "platform/apps/orders": Verdict.READY,
    "platform/apps/payments": Verdict.READY,
    "platform/data/reports": Verdict.REVIEW,
    "platform/data/search": Verdict.READY,
    "platform/data/static-site": Verdict.SKIPPED,
    "platform/edge/gateway": Verdict.READY,
    "platform/edge/ratelimiter": Verdict.READY,
}
ELIGIBLE = sorted(p for p, v in SIM_FLEET.items() if v in (Verdict.READY, Verdict.REVIEW))


def seed_sim_fleet(sim: object, root: Path, paths: Mapping[str, Verdict] = SIM_FLEET) -> None:
    """Projects on the simulator, each backed by a fresh app repo (one commit on main)."""
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        src = make_repo(root / "sources" / path, app_files(name))
        sim.add_project(path, source_repo=src)  # type: ignore[attr-defined]


def sim_plans(repos: list[RepoRef], clones: Mapping[str, Path],
              verdicts: Mapping[str, Verdict] = SIM_FLEET, **kw: str) -> list[RepoPlan]:
    from dataclasses import replace

    out = []
    for repo in repos:
        plan = plan_for(repo, clones[repo.slug], verdicts[repo.name], **kw)
        out.append(replace(plan, patch=None) if plan.verdict is Verdict.SKIPPED else plan)
    return out
