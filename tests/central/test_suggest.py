"""`migrator central suggest` on the fixture central chart's git repository: the change it proposes
(values.yaml comments kept, version bumped, CHANGELOG entry), the proof that it changes nothing for
current users (defaults and every migrated repo's values render identically), and `--write`
(a branch and a patch; HEAD, work tree and tags untouched)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from migrator import demo, git
from migrator.central import proof
from migrator.central import suggest as central
from migrator.central.suggest_values import changelog
from migrator.errors import ConfigError
from migrator.model import FleetPlan, Verdict
from migrator.report import planstate
from migrator.verify import manifests, render

KINDS = ("extra-container", "volumes", "extra-object:CronJob")
SOURCE = demo.central_chart_dir() / "2.0.0"


@pytest.fixture()
def central_git(tmp_path: Path) -> Path:
    return demo.build_central(tmp_path / "central").git_dir


def _text(s: central.Suggestion, rel: str) -> str:
    return s.writes[rel].decode()


def test_the_suggestion_adds_each_hatch_empty_and_documented_keeping_every_comment(
        central_git: Path) -> None:
    s = central.suggest(central_git, None, KINDS)
    assert [h.key for h in s.added] == ["extraContainers", "extraVolumes", "extraVolumeMounts",
                                        "extraObjects"]
    old = (SOURCE / "values.yaml").read_text()
    new = _text(s, "values.yaml")
    assert new.startswith(old)  # nothing the team wrote moves, not even a blank line
    comments = [line for line in old.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in new.splitlines() for c in comments)
    for key in ("extraContainers", "extraVolumes", "extraVolumeMounts", "extraObjects"):
        assert re.search(rf"(?m)^# .*\n{key}: \[\]$", new), key
    defaults = render.parse_values(new, "values.yaml")
    assert {k: defaults[k] for k in ("extraContainers", "extraObjects")} == {
        "extraContainers": [], "extraObjects": []}


def test_the_minor_version_is_bumped_and_the_app_version_kept(central_git: Path) -> None:
    s = central.suggest(central_git, None, KINDS)
    assert (s.version, s.new_version, s.branch) == ("2.0.0", "2.1.0", "central-suggest/2.1.0")
    old = (SOURCE / "Chart.yaml").read_text()
    assert _text(s, "Chart.yaml") == old.replace("version: 2.0.0", "version: 2.1.0")
    assert 'appVersion: "2.0.0"' in _text(s, "Chart.yaml")  # the default image tag stays


def test_a_changelog_is_created_when_the_chart_has_none(central_git: Path) -> None:
    s = central.suggest(central_git, None, KINDS)
    log = _text(s, "CHANGELOG.md")
    assert log.startswith("# Changelog\n\n## 2.1.0\n")
    assert "- `extraContainers`:" in log and "- `extraObjects`:" in log
    assert "Nothing changes for current users" in log


def test_a_changelog_entry_goes_above_the_latest_release_below_unreleased() -> None:
    existing = ("# Changelog\r\n\r\nAll notable changes.\r\n\r\n## [Unreleased]\r\n\r\n- wip\r\n"
                "\r\n## 2.0.0\r\n\r\n- renames\r\n")
    out = changelog(existing, "2.1.0", ["- `extraContainers`: sidecars."])
    assert out == ("# Changelog\r\n\r\nAll notable changes.\r\n\r\n## [Unreleased]\r\n\r\n"
                   "- wip\r\n\r\n## 2.1.0\r\n\r\n- `extraContainers`: sidecars.\r\n\r\n"
                   "## 2.0.0\r\n\r\n- renames\r\n")


def test_the_defaults_render_identically_and_each_hatch_renders_where_it_belongs(
        central_git: Path) -> None:
    s = central.suggest(central_git, None, KINDS)
    assert s.proof.holds and s.proof.rendered == 1
    assert s.proof.descriptive_keys == ("helm.sh/chart",)
    # checked apart from the proof: the suggested chart, loaded and rendered by Helm itself
    after = Path(central_git.parent / "after")
    for rel, content in git.files_at(central_git, "HEAD").items():
        (after / rel).parent.mkdir(parents=True, exist_ok=True)
        (after / rel).write_bytes(s.writes.get(rel, content))
    for rel, content in s.writes.items():
        (after / rel).parent.mkdir(parents=True, exist_ok=True)
        (after / rel).write_bytes(content)
    old, new = render.load(SOURCE), render.load(after)
    assert (new.name, new.version) == ("app-template", "2.1.0")

    def objects(chart: render.LoadedChart, values: dict[str, object]) -> manifests.Rendered:
        text = render.render(chart, values, release="shop", namespace="prod", origin="c")
        return manifests.index(render.parse_manifests(text), "prod")

    diffs = manifests.compare(objects(old, {}), objects(new, {}))
    assert {d.diff_class for d in diffs} <= {manifests.DiffClass.COSMETIC}
    sidecar = {"name": "log-shipper", "image": "fluent-bit:2.2.2"}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "{{ .Release.Name }}-export"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {
                "spec": {"containers": [{"name": "x", "image": "x"}]}}}}}}
    hatched = objects(new, {"extraContainers": [sidecar], "extraObjects": [cron],
                            "volumes": [{"name": "own", "emptyDir": {}}],
                            "extraVolumes": [{"name": "logs", "emptyDir": {}}]})
    deployment = next(o for r, o in hatched.objects.items() if r.kind == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["app-template", "log-shipper"]
    assert [v["name"] for v in pod["volumes"]] == ["own", "logs"]
    assert any(r.kind == "CronJob" and r.name == "shop-export" for r in hatched.objects)


def test_the_values_of_every_migrated_repo_render_identically(
        central_git: Path, fleet_plan: FleetPlan) -> None:
    s = central.suggest(central_git, fleet_plan, KINDS)
    migrated = [(r, c, e) for r in fleet_plan.repos if r.verdict in (Verdict.READY,
                                                                      Verdict.REVIEW)
                for c in r.charts if c.values is not None for e in c.environments]
    assert len(migrated) >= 10
    assert s.proof.rendered == 1 + len(migrated)
    assert s.proof.failed == () and s.proof.not_carried == ()
    assert len(s.proof.carries) == s.proof.rendered
    lines = central.report(s)
    assert any(f"proof: {1 + len(migrated)} value sets rendered with 2.0.0 and 2.1.0" in line
               and line.endswith("0 differences (descriptive labels ignored: helm.sh/chart)")
               for line in lines), lines


def test_default_kinds_follow_the_plans_unblock_order_and_keep_what_a_hatch_carries(
        fleet_plan: FleetPlan) -> None:
    found = central.default_kinds(fleet_plan)
    assert "extra-container" in found and "volumes" in found
    assert "extra-object:CronJob" in found
    assert "other" not in found and "labels-annotations" not in found  # legacy-api: no hatch


def test_a_kind_no_hatch_carries_is_a_usage_error(central_git: Path) -> None:
    with pytest.raises(ConfigError, match=r"--kinds command-args: no hatch carries it "
                                          r"\(hatches carry: .*extra-container"):
        central.suggest(central_git, None, ["command-args"])


def test_what_the_chart_already_offers_is_said_not_added_again(central_git: Path) -> None:
    s = central.suggest(central_git, None, ["labels-annotations", "extra-container"])
    assert [h.key for h in s.added] == ["extraContainers"]
    assert [(h.key, key) for h, key in s.offered] == [("podLabels", "pod.labels"),
                                                     ("podAnnotations", "pod.annotations")]


def test_write_commits_on_a_branch_and_writes_the_patch_beside_the_plan(
        central_git: Path, tmp_path: Path) -> None:
    head = git.head(central_git)
    tags = git.run(["tag", "--list"], cwd=central_git)
    s = central.suggest(central_git, None, KINDS)
    sha, patch = central.write(s, tmp_path / "plan")
    assert patch == tmp_path / "plan" / "central-suggest-2.1.0.patch"
    assert patch.read_text() == s.patch
    assert git.ref_sha(central_git, "refs/heads/central-suggest/2.1.0") == sha
    assert git.run(["rev-parse", f"{sha}^"], cwd=central_git).strip() == head
    # HEAD, the work tree and the tags stay: releasing is the platform team's step
    assert git.head(central_git) == head
    assert git.run(["status", "--porcelain"], cwd=central_git) == ""
    assert git.run(["tag", "--list"], cwd=central_git) == tags
    changed = git.run(["diff", "--name-only", head, sha], cwd=central_git).split()
    assert changed == sorted(s.writes)
    # the patch applies to HEAD and gives the branch's tree
    subprocess.run(["git", "apply", "--check", str(patch)], cwd=central_git, check=True)
    with pytest.raises(central.SuggestError, match="branch central-suggest/2.1.0 exists"):
        central.write(central.suggest(central_git, None, KINDS), tmp_path / "plan")


def test_write_refuses_a_change_the_proof_does_not_hold_for(central_git: Path,
                                                             tmp_path: Path) -> None:
    s = central.suggest(central_git, None, KINDS)
    broken = replace(s, proof=replace(s.proof, results=(
        *s.proof.results, proof.SetResult("orders: chart (prod)", failure="boom"))))
    with pytest.raises(central.SuggestError, match="not neutral for current users"):
        central.write(broken, tmp_path / "plan")
    assert git.ref_sha(central_git, "refs/heads/central-suggest/2.1.0") is None
    assert not (tmp_path / "plan").exists()


def test_a_chart_below_the_root_and_a_changelog_at_the_root(tmp_path: Path) -> None:
    files = {f"charts/app/{rel}": text for rel, text in demo.read_tree(SOURCE).items()}
    files["CHANGELOG.md"] = "# Changes\n\n## 2.0.0\n\n- renames\n"
    repo = demo.write_repo(tmp_path / "platform", [demo.Commit("charts", files)],
                           tags={"v2.0.0": 0})
    s = central.suggest(repo, None, ["env"], chart_path="charts/app")
    assert sorted(s.writes) == ["CHANGELOG.md", "charts/app/Chart.yaml",
                                "charts/app/templates/deployment.yaml", "charts/app/values.yaml"]
    assert _text(s, "CHANGELOG.md").startswith("# Changes\n\n## 2.1.0\n")
    assert s.proof.holds
    with pytest.raises(ConfigError, match="no Chart.yaml at the root"):
        central.suggest(repo, None, ["env"])


def test_the_plan_must_be_for_the_same_chart(central_git: Path, fleet_plan: FleetPlan) -> None:
    other = replace(fleet_plan, central=replace(fleet_plan.central, name="web-service"))
    with pytest.raises(ConfigError, match="the plan is for web-service"):
        central.suggest(central_git, other, KINDS)


def test_the_command_prints_the_proof_writes_the_branch_and_the_patch(
        central_git: Path, fleet_plan: FleetPlan, tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    planstate.save_state(fleet_plan, plan_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "central", "suggest", "--plan", str(plan_dir),
         "--central-git", str(central_git), "--write"],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"proof: \d+ value sets rendered with 2\.0\.0 and 2\.1\.0 .*, 0 "
                     r"differences", proc.stdout), proc.stdout
    assert "adds `extraContainers`" in proc.stdout and "adds `extraObjects`" in proc.stdout
    assert "on branch central-suggest/2.1.0" in proc.stdout
    assert (plan_dir / "central-suggest-2.1.0.patch").is_file()
    assert git.ref_sha(central_git, "refs/heads/central-suggest/2.1.0") is not None
    again = subprocess.run(
        [sys.executable, "-m", "migrator", "central", "suggest", "--plan", str(plan_dir),
         "--central-git", str(central_git), "--kinds", "probes"],
        capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 2 and "no hatch carries it" in again.stderr
