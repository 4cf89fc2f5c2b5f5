"""The lineage threshold: `[central] min_lineage` in migrator.toml, `--min-lineage` on plan and
apply, the flag over the file, a default otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrator import config, demo
from migrator.errors import ConfigError
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from tests.lineage.test_skip import _repo

REQUIRED = {"repos": config.FleetFlags(fleet=Path("fleet")), "central": Path("charts"),
            "target_version": "2.0.0", "out": Path("out")}


def _settings(file_cfg: dict[str, Any], **flags: Any) -> config.PlanSettings:
    return config.plan_settings(file_cfg, config.PlanFlags(**{**REQUIRED, **flags}))


def test_the_default_threshold_applies_when_nothing_says_otherwise() -> None:
    assert _settings({}).min_lineage == DEFAULT_MIN_LINEAGE


def test_migrator_toml_sets_the_threshold_and_the_flag_overrides_it() -> None:
    file_cfg = {"central": {"min_lineage": 0.65}}
    assert _settings(file_cfg).min_lineage == 0.65
    assert _settings(file_cfg, min_lineage=0.2).min_lineage == 0.2
    assert _settings({"central": {"min_lineage": 0}}).min_lineage == 0.0


def test_apply_plans_with_its_own_threshold() -> None:
    flags = config.ApplyFlags(**REQUIRED, min_lineage=0.3)
    assert config.plan_settings({}, flags.plan_flags()).min_lineage == 0.3


@pytest.mark.parametrize("value", [1.5, -0.1, "high", True])
def test_a_threshold_that_is_not_a_share_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="min_lineage"):
        _settings({"central": {"min_lineage": value}})


def test_the_key_is_known_to_migrator_toml(tmp_path: Path) -> None:
    path = tmp_path / "migrator.toml"
    path.write_text("[central]\nmin_lineage = 0.55\n")
    assert config.load_file(path) == {"central": {"min_lineage": 0.55}}


def _plan(central: demo.CentralSources, fleet: Path, out: Path, *extra: str
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", "plan", "--fleet", str(fleet), "--central",
         str(central.repo_dir), "--target-version", "2.0.0", "--out", str(out), "--work",
         str(out / "work"), "--jobs", "1", *extra], capture_output=True, text=True, timeout=300,
        check=False)


def test_min_lineage_on_the_command_line_reaches_the_plan(
        central_sources: demo.CentralSources, tmp_path: Path) -> None:
    _repo(tmp_path / "fleet")
    kinds = {}
    for label, extra in (("default", ()), ("zero", ("--min-lineage", "0"))):
        proc = _plan(central_sources, tmp_path / "fleet", tmp_path / label, *extra)
        assert proc.returncode in (0, 1), proc.stderr
        report = json.loads((tmp_path / label / "repos" / "mixed" / "report.json").read_text())
        kinds[label] = {c["name"]: c["outcome"]["kind"] for c in report["charts"]}
    assert kinds["default"]["worker"] == "not-derived"
    assert kinds["zero"]["worker"] != "not-derived"
    proc = _plan(central_sources, tmp_path / "fleet", tmp_path / "bad", "--min-lineage", "1.5")
    assert proc.returncode == 2 and "--min-lineage" in proc.stderr
