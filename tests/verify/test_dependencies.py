"""Chart dependencies: enabled per environment the way Helm decides, and rendered honestly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrator.model import Kind, NoticeKind
from migrator.verify import render
from migrator.verify.dependencies import assess, is_enabled


@pytest.mark.parametrize(("condition", "tags", "values", "enabled"), [
    ("", (), {}, True),
    ("redis.enabled", (), {}, True),  # a condition path that is not set leaves it on
    ("redis.enabled", (), {"redis": {"enabled": False}}, False),
    ("redis.enabled", (), {"redis": {"enabled": "false"}}, True),  # not a bool: ignored
    ("a.on,redis.enabled", (), {"redis": {"enabled": False}}, False),  # first bool decides
    ("a.on,redis.enabled", (), {"a": {"on": True}, "redis": {"enabled": False}}, True),
    ("", ("cache",), {"tags": {"cache": False}}, False),
    ("", ("cache", "db"), {"tags": {"cache": False, "db": True}}, True),
    ("", ("cache",), {"tags": {"other": False}}, True),
    ("redis.enabled", ("cache",), {"tags": {"cache": False}, "redis": {"enabled": True}}, True),
])
def test_a_dependency_is_enabled_as_helm_decides(condition: str, tags: tuple[str, ...],
                                                  values: dict[str, Any], enabled: bool) -> None:
    assert is_enabled(condition, tags, values) is enabled


def test_each_environment_is_read_from_its_own_values(tmp_path: Path) -> None:
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n"
        "  - name: redis\n    version: 17.0.0\n    repository: https://charts.example.com\n"
        "    condition: redis.enabled\n    alias: cache\n  - name: common\n"
        "    version: 1.0.0\n    repository: file://../common\n")
    found = assess(tmp_path, "chart", [
        {"name": "redis", "version": "17.0.0", "repository": "https://charts.example.com",
         "condition": "redis.enabled", "alias": "cache"},
        {"name": "common", "version": "1.0.0", "repository": "file://../common"},
    ], [{"name": "common", "type": "library"}], {"redis": {"enabled": False}},
        {"dev": {}, "prod": {"redis": {"enabled": True}}})
    redis, common = found.found
    assert (redis.enabled_in, redis.disabled_in, redis.vendored) == (("prod",), ("dev",), False)
    assert (redis.file, redis.line) == ("chart/Chart.yaml", 5)
    assert common.library and not common.carried
    outcome = found.outcome()
    assert outcome is not None and outcome.kind is Kind.DEPENDENCY_KEPT
    assert outcome.detail == "redis 17.0.0 as cache from https://charts.example.com"
    assert outcome.environments == ("prod",)
    notices = found.notices("chart")
    assert [n.kind for n in notices] == [NoticeKind.DEPENDENCY] * 2
    assert "not vendored under chart/charts/" in notices[0].detail
    assert "a library chart" in notices[1].detail


def test_a_vendored_subchart_turned_off_in_one_render_is_still_there_in_the_next(
        tmp_path: Path) -> None:
    """helm-python-sdk drops a disabled subchart from the loaded chart itself: each render must
    start from the chart as loaded, or an environment rendered after one that disables it would
    silently lose its objects."""
    chart = tmp_path / "app"
    sub = chart / "charts" / "cache"
    (sub / "templates").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: cache\n"
        "    version: 0.1.0\n    condition: cache.enabled\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n")
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: cache\nversion: 0.1.0\n")
    (sub / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\n")
    loaded = render.load_fork(tmp_path, "app")
    assert [d["name"] for d in loaded.dependencies] == ["cache"]
    assert [s["name"] for s in loaded.subcharts] == ["cache"]

    def names(enabled: bool) -> set[str]:
        out = render.render(loaded, {"cache": {"enabled": enabled}}, release="r",
                            namespace=None, origin="app")
        return {o["metadata"]["name"] for _, o in render.parse_manifests(out)}

    assert names(False) == {"app"}
    assert names(True) == {"app", "cache"}
