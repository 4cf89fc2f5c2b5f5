"""Every reference of the corpus is found, with what the rewrite and the engine need."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from migrator.locate.refs import find_references
from migrator.model import HelmInvocation
from tests.locate.corpus_cases import Case, cases

CASES = cases()


def _described(ref: HelmInvocation) -> dict[str, object]:
    out: dict[str, object] = {
        "at": f"{ref.file}:{ref.line}",
        "context": ref.context,
        "subcommand": ref.subcommand,
        "values_files": list(ref.values_files),
        "set_flags": [
            f"{s.kind} {s.key}={s.value}" + (" (dynamic)" if s.dynamic else "")
            for s in ref.set_flags
        ],
        "rewritable": ref.rewritable,
    }
    for key in ("release", "chart", "namespace", "environment", "version"):
        value = getattr(ref, key)
        if value is not None:
            out[key] = value
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_corpus_references_are_found_with_release_chart_env_values_sets_and_line(
    case: Case,
) -> None:
    expected = tomllib.loads((case.root / "refs.toml").read_text())["ref"]
    assert [_described(r) for r in find_references(case.input)] == expected


def test_the_corpus_covers_every_kind_of_deploy_file_the_issue_asks_for() -> None:
    kinds = Counter(c.name.split("-", 1)[0] for c in CASES)
    assert kinds["ci"] >= 12
    assert kinds["helmfile"] >= 3
    assert kinds["argocd"] >= 2
    assert kinds["py"] >= 3
    assert kinds["make"] >= 2


def test_a_reference_to_another_chart_is_found_but_points_elsewhere() -> None:
    from migrator.locate.refs import points_at

    case = next(c for c in CASES if c.name == "helmfile-multi")
    redis, orders = find_references(case.input)
    assert (redis.chart, orders.chart) == ("bitnami/redis", "../deploy/orders")
    assert not points_at(redis, case.config["chart_path"], case.input)
    assert points_at(orders, case.config["chart_path"], case.input)
