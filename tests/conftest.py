"""Shared fixtures: the central chart sources and the fixture fleet, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.model import FleetPlan
from migrator.pipeline import fleet as pipeline

TARGET = "2.0.0"


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Default work dirs (`$XDG_CACHE_HOME/migrator/...`) go to a temporary directory, never
    the user's cache: every test, and every process a test starts, sees this one."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture(scope="session")
def central_sources(tmp_path_factory: pytest.TempPathFactory) -> demo.CentralSources:
    return demo.build_central(tmp_path_factory.mktemp("central"))


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    demo.build_fleet(root)
    return root


@pytest.fixture(scope="session")
def plan_settings(central_sources: demo.CentralSources, fleet_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> config.PlanSettings:
    out = tmp_path_factory.mktemp("out")
    return config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=fleet_dir), central=central_sources.repo_dir,
        target_version=TARGET, families=central_sources.families_dir,
        out=out, work=out / "work", jobs=2,
    ))


@pytest.fixture(scope="session")
def fleet_plan(plan_settings: config.PlanSettings) -> FleetPlan:
    return pipeline.plan_fleet(pipeline.discover(plan_settings), plan_settings)
