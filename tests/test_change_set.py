"""The change set of a whole plan: it never deletes what a file of the repo still uses, its patch
applies byte for byte (CRLF files, files without a final newline), and it says what becomes of
the embedded chart's dependencies.

Leftovers are checked independently of the planner: the patch is applied to a fresh clone and
the benchmark's own grep (benchmarks/real_world_grep.py, which imports nothing from migrator)
looks for every path the patch removed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from migrator import config, demo, git
from migrator.model import FleetPlan, Kind, NoticeKind, RepoPlan, RepoRef, Verdict
from migrator.pipeline.context import Context
from migrator.pipeline.fleet import make_context
from migrator.pipeline.repo import plan_repo
from migrator.report.reasons import reason

ROOT = Path(__file__).resolve().parents[1]
PROPOSED = (Verdict.READY, Verdict.REVIEW)


def _grep_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_world_grep",
                                                  ROOT / "benchmarks" / "real_world_grep.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GREP = _grep_module()


@pytest.fixture(scope="module")
def ctx(plan_settings: config.PlanSettings) -> Context:
    return make_context(plan_settings)[0]


def fork_repo(dest: Path, files: dict[str, str | bytes], chart: str = "chart",
              name: str = "app", chart_files: dict[str, str | bytes] | None = None) -> Path:
    """A git repo holding a pristine fork of app-template 2.0.0 at `chart` (which migrates as
    `ready` on its own), `files` beside it; `chart_files` replace files of the chart."""
    source = demo.chart_source_dir(demo.CENTRAL_NAME, demo.TARGET_VERSION)
    tree: dict[str, str | bytes] = {f"{chart}/{rel}": text for rel, text
                                    in demo.fork_chart(source, name, "1.0.0").items()}
    tree.update({f"{chart}/{rel}": text for rel, text in (chart_files or {}).items()})
    tree.update(files)
    for rel, content in tree.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git.run(["init", "-q", "-b", "main", str(dest)])
    git.run(["-c", "core.autocrlf=false", "add", "-A"], cwd=dest)
    git.run(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "fork"],
            cwd=dest)
    return dest


def plan(ctx: Context, repo: Path) -> RepoPlan:
    return plan_repo(RepoRef(repo.name, repo.name, str(repo)), repo, ctx)


def applied(repo: Path, patch: str, dest: Path) -> Path:
    """A fresh clone of `repo` with `patch` applied (`git apply --check` first)."""
    subprocess.run(["git", "-c", "core.autocrlf=false", "clone", "-q", str(repo), str(dest)],
                   check=True)
    data = patch.encode("utf-8")
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=dest, input=data,
                           capture_output=True, check=False)
    assert check.returncode == 0, check.stderr.decode()
    subprocess.run(["git", "apply", "-"], cwd=dest, input=data, check=True)
    return dest


def leftovers(repo: Path, patch: str, dest: Path) -> list[dict[str, Any]]:
    """Every line outside documentation that still names a path the patch removed."""
    after = applied(repo, patch, dest)
    patch_file = dest.parent / f"{dest.name}.patch"
    patch_file.write_bytes(patch.encode("utf-8"))
    removed = GREP.removed_roots(after, GREP.deleted_paths(after, patch_file))
    return [h for h in GREP.leftover_hits(after, removed) if not h["doc"]]


# -- never delete what is still used -----------------------------------------------------------


@pytest.mark.parametrize("case", demo.case_names())
def test_no_proposed_patch_of_the_fixture_fleet_leaves_a_reference_to_a_removed_path(
        fleet_plan: FleetPlan, fleet_dir: Path, tmp_path: Path, case: str) -> None:
    got = next(r for r in fleet_plan.repos if r.repo.name == case)
    # a blocked repo still proposes its charts whose own verdict allows it (warehouse)
    if got.patch is None:
        pytest.skip(f"{case} proposes nothing ({got.verdict})")
    assert leftovers(fleet_dir / case, got.patch, tmp_path / "after") == []


MAKE_DEPLOY = "deploy:\n\thelm upgrade --install app ./chart\n"

# Each S14/S13 shape: files beside the fork, the chart's folder, and the uses a person must see
# (None: the deploy may be rewritten or left, but nothing may name the chart once it is gone).
SHAPES: dict[str, tuple[dict[str, str | bytes], str, tuple[str, ...] | None]] = {
    "gitops_sed_values": ({
        "Makefile": MAKE_DEPLOY,
        ".github/workflows/bump.yml": (
            "on: push\njobs:\n  bump:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: sed -i \"s/tag: .*/tag: $GITHUB_SHA/\" chart/values.yaml\n"),
    }, "chart", (".github/workflows/bump.yml:6",)),
    "script_relative_chart": ({
        "deploy/deploy.sh": ("#!/bin/sh\nhere=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n"
                             "helm upgrade --install app \"$here/chart\"\n"),
    }, "deploy/chart", ("deploy/deploy.sh:3",)),
    "helmfile_env_name_path": ({
        "helmfile.yaml": ("environments:\n  dev: {}\n  prod: {}\n---\nreleases:\n"
                          "  - name: app\n    chart: ./chart\n    values:\n"
                          "      - values/{{ .Environment.Name }}.yaml\n"),
        "values/dev.yaml": "replicaCount: 1\n",
        "values/prod.yaml": "replicaCount: 3\n",
    }, "chart", None),
    "argocd_path_left": ({
        "Makefile": MAKE_DEPLOY,
        "argocd/app.yaml": ("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n"
                            "spec:\n  template:\n    spec:\n      source:\n"
                            "        repoURL: https://git.example.com/team/app.git\n"
                            "        path: '{{ .path }}'\n  generators:\n"
                            "    - list:\n        elements:\n          - path: chart\n"),
    }, "chart", ("argocd/app.yaml:12",)),
    "jenkinsfile_dir": ({
        "Jenkinsfile": ("node {\n  stage('deploy') {\n    dir('.helm') {\n"
                        "      sh \"helm upgrade --install app . -f values.yaml\"\n"
                        "    }\n  }\n}\n"),
    }, ".helm", None),
    "helm_in_docker_run": ({
        ".gitlab-ci.yml": ("deploy:\n  script:\n    - docker run --rm -v $PWD:/src -w /src "
                           "alpine/helm:3.14.0 /bin/sh -c 'helm upgrade --install app ./chart'\n"),
    }, "chart", None),
    "script_cd_dirname": ({
        "deploy/deploy.sh": ("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n"
                             "helm upgrade --install app ./chart\n"),
    }, "deploy/chart", None),
    "github_actions_run": ({
        ".github/workflows/deploy.yml": (
            "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n      - run: |\n"
            "          helm upgrade --install app ./chart \\\n"
            "            --set image.tag=${{ github.sha }}\n"),
    }, "chart", None),
    "ci_cd_into_parent": ({
        "Makefile": "deploy:\n\thelm upgrade --install app ./deploy/chart\n",
        "bin/lint.sh": "#!/bin/sh\ncd deploy\nhelm lint ./chart --strict || exit 1\nexit 0\n",
    }, "deploy/chart", None),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_chart_still_named_after_the_rewrite_is_kept_and_blocked(
        ctx: Context, tmp_path: Path, shape: str) -> None:
    files, chart, uses = SHAPES[shape]
    repo = fork_repo(tmp_path / shape, files, chart=chart)
    got = plan(ctx, repo)
    if got.verdict in PROPOSED:
        assert got.patch is not None
        assert leftovers(repo, got.patch, tmp_path / "after") == [], reason(got)
    else:
        assert got.outcome.kind is Kind.STILL_USED, reason(got)
    if uses is not None:
        assert got.outcome.kind is Kind.STILL_USED, reason(got)
        assert set(uses) <= set(got.outcome.files)
        assert got.verdict is Verdict.BLOCKED


def test_pushing_a_packaged_chart_built_at_run_time_is_not_a_use_of_any_chart(
        ctx: Context, tmp_path: Path) -> None:
    repo = fork_repo(tmp_path / "push", {
        "Makefile": "deploy:\n\thelm upgrade --install app ./chart\n",
        ".gitlab-ci.yml": ("publish:\n  script:\n"
                           '    - helm push "dist/tools-$CI_COMMIT_TAG.tgz" '
                           "oci://registry.example.com/charts\n"),
    })
    got = plan(ctx, repo)
    assert got.verdict is Verdict.READY, reason(got)
    assert got.patch is not None
    assert leftovers(repo, got.patch, tmp_path / "after") == []


def test_a_kept_chart_is_not_deleted_even_when_forced(ctx: Context, tmp_path: Path) -> None:
    files, chart, _ = SHAPES["gitops_sed_values"]
    repo = fork_repo(tmp_path / "forced", files, chart=chart)
    got = plan_repo(RepoRef("forced", "forced", str(repo)), repo, _forced(ctx))
    assert got.verdict is Verdict.BLOCKED and got.patch is not None
    assert "deleted file mode" not in got.patch
    after = applied(repo, got.patch, tmp_path / "after")
    assert (after / "chart" / "values.yaml").is_file()
    assert "oci://" in (after / "Makefile").read_text()


def _forced(ctx: Context) -> Context:
    from dataclasses import replace
    return replace(ctx, force=True)


def test_a_chart_at_the_repository_root_takes_only_its_own_files_with_it(
        ctx: Context, tmp_path: Path) -> None:
    repo = tmp_path / "root-chart"
    fork_repo(repo, {"Makefile": "deploy:\n\thelm upgrade --install app .\n",
                     "README.md": "# app\n", "src/main.go": "package main\n"}, chart=".")
    got = plan(ctx, repo)
    assert got.verdict is Verdict.READY, reason(got)
    assert got.patch is not None
    after = applied(repo, got.patch, tmp_path / "after")
    assert (after / "README.md").is_file() and (after / "src" / "main.go").is_file()
    assert not (after / "Chart.yaml").exists() and not (after / "templates").exists()
    assert "oci://" in (after / "Makefile").read_text()


def test_documentation_that_names_the_chart_is_a_notice_not_a_block(
        ctx: Context, tmp_path: Path) -> None:
    repo = fork_repo(tmp_path / "docs", {
        "Makefile": MAKE_DEPLOY,
        "README.md": "# app\n\nThe chart lives in `chart/`.\n",
        "docs/deploy.txt": "helm upgrade --install app ./chart\n",
    })
    got = plan(ctx, repo)
    assert got.verdict is Verdict.READY, reason(got)
    (chart,) = got.charts
    named = {(n.where, n.detail) for n in chart.notices if n.kind is NoticeKind.STILL_NAMED}
    assert named == {("README.md:3", "still names chart/: update it with the change"),
                     ("docs/deploy.txt:1", "still names chart/: update it with the change")}


# -- patches apply byte for byte ---------------------------------------------------------------


def test_crlf_files_keep_their_line_endings_and_the_patch_applies(
        ctx: Context, tmp_path: Path) -> None:
    service = (demo.chart_source_dir(demo.CENTRAL_NAME, demo.TARGET_VERSION)
               / "templates" / "service.yaml").read_text().replace("app-template.", "app.")
    repo = fork_repo(tmp_path / "crlf", {
        "Makefile": "# deploy\r\ndeploy:\r\n\thelm upgrade --install app ./chart\r\n",
        ".gitlab-ci.yml": ("deploy:\r\n  stage: deploy\r\n  script:\r\n"
                           "    - helm upgrade --install app ./chart\r\n"),
    }, chart_files={"templates/service.yaml": service.replace("\n", "\r\n"),
                    "templates/NOTES.txt": "no final newline"})
    got = plan(ctx, repo)
    assert got.verdict is Verdict.READY, reason(got)
    assert got.patch is not None
    after = applied(repo, got.patch, tmp_path / "after")
    makefile = (after / "Makefile").read_bytes()
    assert makefile == (b"# deploy\r\ndeploy:\r\n\thelm upgrade --install app oci://registry."
                        b"example.com/charts/app-template --version 2.0.0 -f deploy/values.yaml"
                        b"\r\n")
    ci = (after / ".gitlab-ci.yml").read_bytes()
    assert ci.count(b"\r\n") == 4 and b"oci://" in ci
    assert not (after / "chart").exists()


def test_a_crlf_values_file_deleted_with_the_chart_applies(ctx: Context, tmp_path: Path) -> None:
    values = (demo.chart_source_dir(demo.CENTRAL_NAME, demo.TARGET_VERSION)
              / "values.yaml").read_text()
    repo = fork_repo(tmp_path / "crlf-values", {
        "Makefile": "deploy:\n\thelm upgrade --install app ./chart -f chart/values-prod.yaml\n",
        "chart/values-prod.yaml": "replicas: 3\r\n",
    }, chart_files={"values.yaml": values.replace("\n", "\r\n")})
    got = plan(ctx, repo)
    assert got.verdict in PROPOSED, reason(got)
    assert got.patch is not None and "\r\n" in got.patch
    after = applied(repo, got.patch, tmp_path / "after")
    # the migrated values files are edited from the fork's own: their line endings come along
    written = (after / "deploy" / "values.yaml").read_bytes()
    assert b"\r\n" in written and b"\n" not in written.replace(b"\r\n", b"")


# -- chart dependencies -----------------------------------------------------------------------

REQUIREMENTS = ("dependencies:\n- name: redis\n  version: 10.0.0\n"
                "  repository: https://charts.example.com\n  condition: redis.enabled\n")


def _helm2_fork(dest: Path, files: dict[str, str | bytes], values_tail: str) -> Path:
    source = demo.chart_source_dir(demo.CENTRAL_NAME, demo.TARGET_VERSION)
    forked = demo.fork_chart(source, "app", "1.0.0")
    return fork_repo(dest, files, chart_files={
        "Chart.yaml": forked["Chart.yaml"].replace("apiVersion: v2", "apiVersion: v1"),
        "values.yaml": forked["values.yaml"] + values_tail,
        "requirements.yaml": REQUIREMENTS,
        "requirements.lock": "dependencies: []\n",
    })


def test_a_dependency_an_environment_enables_blocks_and_is_named(
        ctx: Context, tmp_path: Path) -> None:
    repo = _helm2_fork(tmp_path / "req", {
        "Makefile": ("deploy-dev:\n\thelm upgrade --install app ./chart\n"
                     "deploy-prod:\n\thelm upgrade --install app ./chart "
                     "-f chart/values-prod.yaml\n"),
        "chart/values-prod.yaml": "redis:\n  enabled: true\n",
    }, "redis:\n  enabled: false\n")
    got = plan(ctx, repo)
    assert got.outcome.kind is Kind.DEPENDENCY_KEPT, reason(got)
    assert got.outcome.detail == "redis 10.0.0 from https://charts.example.com"
    assert got.outcome.where == "chart/requirements.yaml:2"
    assert "redis" in reason(got) and "prod" in reason(got)
    (chart,) = got.charts
    (notice,) = [n for n in chart.notices if n.kind is NoticeKind.DEPENDENCY]
    assert "condition redis.enabled" in notice.detail
    assert "enabled in prod" in notice.detail and "disabled in" in notice.detail
    assert "not vendored" in notice.detail
    assert got.patch is None


def test_a_dependency_disabled_everywhere_goes_with_the_chart_and_the_report_says_so(
        ctx: Context, tmp_path: Path) -> None:
    repo = _helm2_fork(tmp_path / "req-off", {"Makefile": MAKE_DEPLOY},
                       "redis:\n  enabled: false\n")
    got = plan(ctx, repo)
    assert got.verdict is Verdict.READY, reason(got)
    (chart,) = got.charts
    (notice,) = [n for n in chart.notices if n.kind is NoticeKind.DEPENDENCY]
    assert notice.where == "chart/requirements.yaml:2"
    assert "disabled in every environment: it goes with the chart" in notice.detail
    assert got.patch is not None and "chart/requirements.yaml" in got.patch
