"""Each corpus case, rewritten in each style, gives exactly the files written by hand."""

from __future__ import annotations

import difflib
import posixpath
import re
import shutil
from pathlib import Path

import pytest

from migrator.locate.refs import find_references
from migrator.rewrite import STYLES, RewriteResult, Style
from migrator.rewrite.engine import rewrite_references
from tests.locate.corpus_cases import Case, cases, describe_deploys, describe_untouched, target

CASES = cases()
PAIRS = [(c, s) for c in CASES for s in STYLES]


def _rewrite(case: Case, style: Style) -> RewriteResult:
    refs = find_references(case.input)
    return rewrite_references(case.input, refs, target(case, style, refs))


def _expected_dir(case: Case, style: str) -> Path:
    same = case.expected(style) / "same-as.txt"
    return case.expected(same.read_text().strip()) if same.is_file() else case.expected(style)


def _text(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


@pytest.mark.parametrize(("case", "style"), PAIRS, ids=[f"{c.name}-{s}" for c, s in PAIRS])
def test_the_rewrite_writes_exactly_the_expected_files(case: Case, style: Style) -> None:
    result = _rewrite(case, style)
    expected = _expected_dir(case, style)
    files = expected / "files"
    wanted = {
        p.relative_to(files).as_posix(): p.read_bytes() for p in files.rglob("*") if p.is_file()
    }
    assert sorted(result.writes) == sorted(wanted)
    for path, content in wanted.items():
        assert result.writes[path] == content, path
    for path in _text(expected / "unchanged.txt").split():
        assert path not in result.writes and (case.input / path).is_file()


@pytest.mark.parametrize(("case", "style"), PAIRS, ids=[f"{c.name}-{s}" for c, s in PAIRS])
def test_the_rewrite_says_how_each_deploy_runs_afterwards_and_what_it_left(
    case: Case, style: Style
) -> None:
    result = _rewrite(case, style)
    expected = _expected_dir(case, style)
    assert describe_deploys(result) == _text(expected / "deploys.txt")
    assert describe_untouched(result) == _text(expected / "untouched.txt")
    assert "".join(n + "\n" for n in result.notes) == _text(expected / "notes.txt")


def _allowed(case: Case, line: str) -> bool:
    """A line that had to change: it carries the chart, a values file, a static value, the
    version, or a dependency build (or is the key of a list that a removed build emptied)."""
    chart = case.config["chart_path"]
    static = [f"{s.key}={s.value}" for r in find_references(case.input) for s in r.set_flags]
    words = (
        *static,
        "2.3.0",
        "--dependency-update",
        "before_script:",
        '"-f"',
        chart,
        "app-template",
        "deploy/chart",
        "values",
        "--set",
        "set:",
        "- name:",
        "value:",
        "version",
        "helm dependency",
        "helm3 dependency",
        "chart:",
        "path:",
        "CHART",
    )
    return any(w in line for w in words)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("style", ["values-only", "dependency"])
def test_only_the_lines_that_carry_the_chart_reference_change(case: Case, style: Style) -> None:
    result = _rewrite(case, style)
    for path, content in result.writes.items():
        before = case.input / path
        if not before.is_file() or content is None or path.endswith("Chart.yaml"):
            continue
        diff = difflib.ndiff(before.read_text().splitlines(), content.decode().splitlines())
        changed = [d[2:] for d in diff if d[:2] in ("- ", "+ ")]
        assert changed, path
        for line in changed:
            if path.endswith(("argocd/orders.yaml", "orders-staging.yaml")):
                continue  # a source becomes a multi-source: the block is rebuilt
            assert _allowed(case, line), f"{path}: {line!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_rewritten_repo_deploys_what_the_rewrite_says(case: Case, tmp_path: Path) -> None:
    """Apply the values-only rewrite, look for references again, and find each deploy the
    result announced: the central chart, the pinned version, the new values files."""
    result = _rewrite(case, "values-only")
    repo = tmp_path / "repo"
    shutil.copytree(case.input, repo)
    for path, content in result.writes.items():
        assert content is not None
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(content)
    after = find_references(repo)
    for deploy in result.deploys:
        inv = deploy.invocation
        if inv.source == "argocd":
            continue  # a multi-source Application has no path to find again
        same = [
            r
            for r in after
            if (r.file, r.context, r.subcommand) == (inv.file, inv.context, inv.subcommand)
            and r.environment == inv.environment
        ]
        assert same, f"{inv.file}:{inv.line} is gone"
        chart = deploy.chart
        found = [r for r in same if r.chart == chart and r.version == deploy.version]
        assert found, f"{inv.file}:{inv.line} does not deploy {chart} {deploy.version}"
        values = [_resolved(r.values_files, inv.file, inv.source, deploy.env) for r in found]
        assert list(deploy.values_files) in values, f"{inv.file}:{inv.line}"


def _resolved(files: tuple[str, ...], rel: str, source: str, env: str) -> list[str]:
    """Values files as repo-relative paths for one environment (helmfile paths are read from
    the helmfile's directory; a variable choosing the file is the environment's name)."""
    base = posixpath.dirname(rel) if source == "helmfile" else ""
    out = []
    for f in files:
        f = re.sub(r"\$\(?\{?(\w+|\*|\d)\}?\)?", env, f)
        f = f.replace("{{ .Environment.Name }}", env)
        out.append(posixpath.normpath(posixpath.join(base, f)))
    return out
