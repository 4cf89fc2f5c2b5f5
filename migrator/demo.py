"""Builds the demo world from `fixtures/`: the central chart's sources, the older template
families forks may descend from, and a fleet of app repos.

Everything is deterministic: fixed author, committer and dates, so the same fixtures always give
the same commit ids. Repositories are written with one `git fast-import` each (plus `init` and a
`read-tree` to check the tree out), which keeps a thousand-repo benchmark fleet cheap to build.
Nothing here prints; problems raise `migrator.errors` exceptions naming the fixture file.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.central import suggest as central
from migrator.errors import ConfigError, RepoError
from migrator.git import run
from migrator.model import FleetPlan, Verdict
from migrator.verify import render

CENTRAL_NAME = "app-template"
TARGET_VERSION = "2.0.0"
SUGGESTED_VERSION = "2.1.0"  # what `central suggest` makes of TARGET_VERSION for the fleet
HELPER_PREFIX = f"{CENTRAL_NAME}."

# 2024-01-01T00:00:00Z; every commit is a fixed number of days after it.
_EPOCH = 1704067200
_DAY = 86400
_AUTHOR = "Dev Team <dev-team@example.com>"
_RELEASER = "Platform Team <platform@example.com>"
# fast-import takes paths unquoted only when they are this simple; fixtures never need more.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._@+/-]+$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# fast-import explodes small imports into loose objects by default; one pack per repo is smaller
# and quicker to write.
_KEEP_PACK = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "fastimport.unpackLimit",
              "GIT_CONFIG_VALUE_0": "0"}


def fixtures_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "fixtures"


def central_chart_dir(fixtures: Path | None = None) -> Path:
    return (fixtures or fixtures_dir()) / "central" / CENTRAL_NAME


def central_versions(fixtures: Path | None = None) -> tuple[str, ...]:
    """The published versions of the central chart, oldest first."""
    root = central_chart_dir(fixtures)
    if not root.is_dir():
        raise ConfigError(f"central chart fixtures not found at {root}")
    return _versions(root)


def families_dir(fixtures: Path | None = None) -> Path:
    """`fixtures/families/<family>/<version>/`: the template families before the central chart."""
    return (fixtures or fixtures_dir()) / "families"


def family_names(fixtures: Path | None = None) -> tuple[str, ...]:
    """The older template families, by chart name; none when the fixtures have no families."""
    root = families_dir(fixtures)
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))


def family_versions(family: str, fixtures: Path | None = None) -> tuple[str, ...]:
    """The versions of a template family (the central chart's name works too), oldest first."""
    if family == CENTRAL_NAME:
        return central_versions(fixtures)
    root = families_dir(fixtures) / family
    if not root.is_dir():
        raise ConfigError(f"template family {family!r} not found at {root}")
    return _versions(root)


def chart_source_dir(family: str, version: str, fixtures: Path | None = None) -> Path:
    """The sources of one version of the central chart or of an older template family."""
    root = (central_chart_dir(fixtures) if family == CENTRAL_NAME
            else families_dir(fixtures) / family)
    path = root / version
    if not path.is_dir():
        known = ", ".join(family_versions(family, fixtures)) or "none"
        raise ConfigError(f"{family} {version} not found at {path} (versions: {known})")
    return path


def _versions(root: Path) -> tuple[str, ...]:
    return tuple(sorted((p.name for p in root.iterdir() if _SEMVER.match(p.name)),
                        key=_semver_key))


def _semver_key(version: str) -> tuple[int, int, int]:
    match = _SEMVER.match(version)
    if match is None:
        raise ConfigError(f"not a plain semantic version: {version!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch)


# ---------------------------------------------------------------------------------------------
# The demo's directory: built again on every run


DEMO_MARKER = ".migrator-demo"  # says a directory is the demo's own, to rebuild at will
# What a demo run writes at the top of its directory: sources it builds, reports, the work dir.
_DEMO_ENTRIES = re.compile(r"^(central|fleet|work|out(-[0-9.]+)?|\.migrator-demo)$")


def prepare(directory: Path) -> Path:
    """Make `directory` ready for a demo run, and return it.

    A new or empty directory is marked as the demo's. One an earlier run made (marked, or laid
    out as the demo lays it out) gets its central chart, fleet and reports removed, to be
    built again: the fixtures give the same commits every time, so the work dir (clones, plan
    cache) stays and the second run is quicker. Any other non-empty directory is refused, never
    emptied.
    """
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file: the demo needs a directory of its own")
    entries = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    ours = DEMO_MARKER in entries or ("central" in entries and "fleet" in entries and all(
        _DEMO_ENTRIES.match(name) for name in entries))
    if entries and not ours:
        raise ConfigError(f"{directory} is not empty and not a demo directory: give the demo "
                          "a new or empty one")
    for name in entries:
        if _DEMO_ENTRIES.match(name) and name not in ("work", DEMO_MARKER):
            path = directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEMO_MARKER).write_text("made by `migrator demo`; it rebuilds this directory "
                                         "on every run\n", encoding="utf-8")
    return directory


# ---------------------------------------------------------------------------------------------
# Git repositories from in-memory snapshots


@dataclass(frozen=True)
class Commit:
    """One commit as a full snapshot of the tree: repo-relative path -> text content."""

    message: str
    files: Mapping[str, str]


def write_repo(path: Path, commits: Iterable[Commit], tags: Mapping[str, int] | None = None,
               author: str = _AUTHOR, first_day: int = 0) -> Path:
    """Create a git repo at `path` holding `commits` on `main` in order, checked out.

    `tags` maps a tag name to the index of the commit it points at (annotated tags).
    """
    commits = list(commits)
    if not commits:
        raise RepoError(f"{path}: a repository needs at least one commit")
    if path.exists() and any(path.iterdir()):
        raise RepoError(f"{path}: not empty; demo repositories are built from scratch")
    path.mkdir(parents=True, exist_ok=True)
    # An empty template skips the sample hooks: a thousand repos stay small and quick to write.
    run(["init", "--quiet", "--template=", "--initial-branch=main", str(path)])
    out: list[str] = []
    for index, commit in enumerate(commits):
        when = f"{_EPOCH + (first_day + index) * _DAY} +0000"
        out.append(f"commit refs/heads/main\nmark :{index + 1}\n")
        out.append(f"author {author} {when}\ncommitter {author} {when}\n")
        out.append(_data(commit.message.rstrip("\n") + "\n", path, "commit message"))
        if index:
            out.append(f"from :{index}\n")
        out.append("deleteall\n")
        for rel in sorted(commit.files):
            if not _PLAIN_PATH.match(rel):
                raise RepoError(f"{path}: unsupported file name {rel!r}")
            out.append(f"M 100644 inline {rel}\n")
            out.append(_data(commit.files[rel], path, rel))
        out.append("\n")
    for tag, index in (tags or {}).items():
        if not 0 <= index < len(commits):
            raise RepoError(f"{path}: tag {tag} points at commit {index}, which does not exist")
        when = f"{_EPOCH + (first_day + index) * _DAY} +0000"
        out.append(f"tag {tag}\nfrom :{index + 1}\ntagger {author} {when}\n")
        out.append(_data(f"{tag}\n", path, f"tag {tag}"))
    run(["fast-import", "--quiet", "--date-format=raw"], cwd=path, input_text="".join(out),
        env=_KEEP_PACK)
    run(["read-tree", "--reset", "-u", "HEAD"], cwd=path)
    return path


def _data(text: str, repo: Path, what: str) -> str:
    # `data <n>` counts bytes; ASCII keeps bytes == characters whatever the pipe's encoding.
    if not text.isascii():
        raise RepoError(f"{repo}: {what} is not ASCII; fixtures must be ASCII")
    return f"data {len(text)}\n{text}\n"


def read_tree(root: Path) -> dict[str, str]:
    """Every file under `root` as repo-relative path -> text, line endings as they are (a CRLF
    fixture stays CRLF in its repo)."""
    if not root.is_dir():
        raise RepoError(f"fixture directory not found: {root}")
    return {p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# The central chart: a chart repository directory and a git repository with tags


@dataclass(frozen=True)
class CentralSources:
    repo_dir: Path  # app-template-<v>.tgz per version + index.yaml
    git_dir: Path  # the chart at the root, tag v<version> per version
    name: str
    versions: tuple[str, ...]
    # <family>-<v>.tgz per version of every older template family + index.yaml (maybe empty)
    families_dir: Path
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # family -> versions


def build_central(dest: Path, fixtures: Path | None = None) -> CentralSources:
    """Publish every central version both ways under `dest` (`charts/` and `app-template.git/`),
    and every version of the older template families as a chart repository (`families/`)."""
    versions = central_versions(fixtures)
    source = central_chart_dir(fixtures)
    repo_dir = dest / "charts"
    render.write_chart_repository(repo_dir, [source / version for version in versions])
    git_dir = dest / f"{CENTRAL_NAME}.git"
    commits = [Commit(f"Release {CENTRAL_NAME} {v}", read_tree(source / v)) for v in versions]
    write_repo(git_dir, commits, tags={f"v{v}": i for i, v in enumerate(versions)},
               author=_RELEASER)
    families = build_families(dest / "families", fixtures)
    return CentralSources(repo_dir=repo_dir, git_dir=git_dir, name=CENTRAL_NAME,
                          versions=versions, families_dir=dest / "families", families=families)


def release_suggestion(sources: CentralSources, plan: FleetPlan | None, out: Path,
                       kinds: Sequence[str] | None = None) -> central.Suggestion:
    """The next central version as the platform team would make it: `central suggest` on the
    git repository's HEAD (the latest version) for the kinds the plan's blocked repos need
    (or `kinds`), proved against the plan, committed on its branch with the patch in `out`,
    then released: tagged `v<version>` on that commit (plan it with `--central <git_dir>`)."""
    made = central.suggest(sources.git_dir, plan, kinds)
    when = f"{_EPOCH + len(sources.versions) * _DAY} +0000"
    name, _, email = _RELEASER.partition(" <")
    sha, _ = central.write(made, out, author=(name, email.rstrip(">")), when=when)
    run(["tag", "-a", "-m", f"v{made.new_version}", "--end-of-options", f"v{made.new_version}",
         sha], cwd=sources.git_dir,
        env={"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email.rstrip(">"),
             "GIT_COMMITTER_DATE": when})
    return made


def build_families(dest: Path, fixtures: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Package every version of every older template family into one chart repository at `dest`
    (an empty one when there are none). Returns family -> versions, oldest first."""
    families = {name: family_versions(name, fixtures) for name in family_names(fixtures)}
    render.write_chart_repository(dest, [chart_source_dir(name, version, fixtures)
                                         for name, versions in families.items()
                                         for version in versions])
    return families


# ---------------------------------------------------------------------------------------------
# Fleet cases: case.toml (inputs) and expected.toml (what `migrator plan` must conclude: the tests
# read it through testsupport.fixture_cases; the benchmark fleets pick their cases by its verdict)


@dataclass(frozen=True)
class ChartSpec:
    path: str  # repo-relative chart directory
    name: str
    app_version: str | None


@dataclass(frozen=True)
class CaseSpec:
    case: str
    app: str
    description: str
    forked_from: str | None  # version the fork was copied from; None without a fork
    charts: tuple[ChartSpec, ...]
    message: str  # message of the overlay commit
    remove: tuple[str, ...] = ()  # paths the overlay commit deletes
    family: str = CENTRAL_NAME  # chart `forked_from` is a version of: central or an older family


def case_dir(case: str, fixtures: Path | None = None) -> Path:
    return (fixtures or fixtures_dir()) / "fleet" / case


def case_names(fixtures: Path | None = None) -> tuple[str, ...]:
    root = (fixtures or fixtures_dir()) / "fleet"
    if not root.is_dir():
        raise ConfigError(f"fleet fixtures not found at {root}")
    return tuple(sorted(p.name for p in root.iterdir() if (p / "case.toml").is_file()))


def load_toml(path: Path) -> dict[str, Any]:
    """A fixture's TOML file; a missing or malformed one raises ConfigError naming it."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"fixture file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_case(case: str, fixtures: Path | None = None) -> CaseSpec:
    path = case_dir(case, fixtures) / "case.toml"
    data = load_toml(path)
    try:
        app = str(data["app"])
        default_version = data.get("app_version")
        charts = tuple(
            ChartSpec(path=str(c["path"]), name=str(c.get("name", app)),
                      app_version=c.get("app_version", default_version))
            for c in data.get("charts", [])
        )
        return CaseSpec(case=case, app=app, description=str(data["description"]),
                        forked_from=data.get("forked_from"), charts=charts,
                        message=str(data["message"]), remove=tuple(data.get("remove", ())),
                        family=str(data.get("family", CENTRAL_NAME)))
    except KeyError as exc:
        raise ConfigError(f"{path}: missing key {exc}") from exc


def expected_verdict(case: str, fixtures: Path | None = None) -> Verdict:
    """The verdict a case's `expected.toml` promises (the tests read the rest of that file)."""
    path = case_dir(case, fixtures) / "expected.toml"
    try:
        return Verdict(load_toml(path)["verdict"])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Forks and their history


def fork_chart(central_version_dir: Path, name: str, app_version: str | None) -> dict[str, str]:
    """Copy a chart version (central or an older family) the way teams forked it: renamed,
    version 0.1.0, own helpers (the source chart's `<name>.` prefix becomes `<fork name>.`).

    Returns chart-relative path -> content.
    """
    files = read_tree(central_version_dir)
    chart_yaml = files["Chart.yaml"]
    source_name = re.search(r"(?m)^name: *(\S+)", chart_yaml)
    prefix = f"{source_name.group(1)}." if source_name else HELPER_PREFIX
    chart_yaml = re.sub(r"(?m)^name: .*$", f"name: {name}", chart_yaml)
    chart_yaml = re.sub(r"(?m)^version: .*$", "version: 0.1.0", chart_yaml)
    if app_version is not None:
        chart_yaml = re.sub(r"(?m)^appVersion: .*$", f'appVersion: "{app_version}"', chart_yaml)
    files["Chart.yaml"] = chart_yaml
    for rel, text in files.items():
        if rel.startswith("templates/"):
            files[rel] = text.replace(prefix, f"{name}.")
    return files


def case_history(case: str, fixtures: Path | None = None) -> tuple[Commit, ...]:
    """The commits of a case's repo: the pristine fork (plus `initial/`), then the overlay."""
    spec = load_case(case, fixtures)
    root = case_dir(case, fixtures)
    tree: dict[str, str] = {}
    if spec.charts:
        if spec.forked_from is None:
            raise ConfigError(f"{root / 'case.toml'}: charts need forked_from")
        try:
            version_dir = chart_source_dir(spec.family, spec.forked_from, fixtures)
        except ConfigError as exc:
            raise ConfigError(f"{root / 'case.toml'}: forked_from: {exc}") from exc
        for chart in spec.charts:
            for rel, text in fork_chart(version_dir, chart.name, chart.app_version).items():
                tree[f"{chart.path}/{rel}"] = text
    if (root / "initial").is_dir():
        tree.update(read_tree(root / "initial"))
    if spec.charts:
        noun = "chart" if len(spec.charts) == 1 else "charts"
        first = f"Add {noun} forked from {spec.family} {spec.forked_from}"
    else:
        first = f"Initial commit of {spec.app}"
    second = {rel: text for rel, text in tree.items()
              if not any(rel == r or rel.startswith(f"{r.rstrip('/')}/") for r in spec.remove)}
    second.update(read_tree(root / "overlay"))
    return Commit(first, tree), Commit(spec.message, second)


def build_case(dest: Path, case: str, fixtures: Path | None = None) -> Path:
    """Write one case as a git repository at `dest`."""
    return write_repo(dest, case_history(case, fixtures))


def build_fleet(dest: Path, fixtures: Path | None = None) -> list[Path]:
    """One git repository per fleet case, at `dest/<case>`, in case-name order."""
    return [build_case(dest / case, case, fixtures) for case in case_names(fixtures)]


def rename_app(commits: Iterable[Commit], old: str, new: str) -> tuple[Commit, ...]:
    """Rename app `old` to `new` in every path and file: chart names, helpers, releases, images.

    Only whole words are replaced (`users-api` becomes `<new>-api`, `superusers` stays), so names
    derived from the app keep their relation to it.
    """
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(old)}(?![A-Za-z0-9_])")
    return tuple(
        Commit(word.sub(new, c.message),
               {word.sub(new, rel): word.sub(new, text) for rel, text in c.files.items()})
        for c in commits
    )


def migratable_cases(fixtures: Path | None = None) -> tuple[str, ...]:
    """Forks whose expected verdict is ready or review: the material of benchmark fleets."""
    return tuple(c for c in case_names(fixtures)
                 if expected_verdict(c, fixtures) in (Verdict.READY, Verdict.REVIEW)
                 and load_case(c, fixtures).charts)


def generate_fleet(dest: Path, n: int, fixtures: Path | None = None) -> list[Path]:
    """`n` distinct repos at `dest/<case>-<i>`, cycling through the migratable cases.

    Repo i renames the case's app to `<app>-<i>` everywhere, so no two repos share a chart name,
    release or image.
    """
    if n < 0:
        raise ConfigError(f"cannot generate {n} repositories")
    pool = migratable_cases(fixtures)
    if not pool:
        raise ConfigError("no fleet case is expected ready or review")
    histories = {case: (load_case(case, fixtures).app, case_history(case, fixtures))
                 for case in pool}
    width = max(4, len(str(n - 1)))

    def one(i: int) -> Path:
        case = pool[i % len(pool)]
        app, history = histories[case]
        suffix = f"{i:0{width}d}"
        return write_repo(dest / f"{case}-{suffix}", rename_app(history, app, f"{app}-{suffix}"))

    # The time goes into git subprocesses, so threads overlap them well.
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as executor:
        return list(executor.map(one, range(n)))

