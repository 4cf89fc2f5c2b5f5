"""The central chart's published versions, loaded once per process.

Two forms of source: a Helm chart repository directory (`index.yaml` + one `.tgz` per version),
or a git repository whose tags `v<version>` are the versions (chart at the root or at a path).
A chart repository may also hold historical template families (other chart names): lineage
compares forks against them too.
"""

from __future__ import annotations

import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from migrator import git
from migrator.errors import ConfigError, MigratorError
from migrator.lineage.profile import Profile, profile
from migrator.verify import render
from migrator.verify.render import LoadedChart
from migrator.versions import version_key


@dataclass(frozen=True)
class Catalog:
    """Every published version of every chart the central source holds."""

    source: str
    central: str  # name of the central chart
    charts: dict[tuple[str, str], LoadedChart]  # (name, version) -> chart
    # what lineage reads of each chart, made on first use: every fork is compared with each
    _profiles: dict[tuple[str, str], Profile] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def versions(self, name: str | None = None) -> list[str]:
        wanted = name or self.central
        return sorted((v for n, v in self.charts if n == wanted), key=version_key)

    def get(self, version: str, name: str | None = None) -> LoadedChart:
        key = (name or self.central, version)
        if key not in self.charts:
            known = ", ".join(self.versions(name)) or "none"
            raise ConfigError(f"{key[0]} {version} is not in {self.source} (versions: {known})")
        return self.charts[key]

    def profile(self, key: tuple[str, str]) -> Profile:
        """The chart (name, version) as lineage compares it. Workers may make the same one
        twice; both are equal, and the last one stays."""
        found = self._profiles.get(key)
        if found is None:
            found = self._profiles[key] = profile(self.charts[key])
        return found

    def helpers(self) -> frozenset[str]:
        """Every helper some published chart defines (prefix undone): the names lineage can
        tell versions apart by; a fork's own inventions say nothing about its origin."""
        return frozenset().union(*(self.profile(key).helpers for key in self.charts))


_cache: dict[tuple[str, str | None, str | None, str | None], Catalog] = {}
_lock = threading.Lock()


def load_catalog(source: str, central_name: str | None = None,
                 central_path: str | None = None, families: str | None = None) -> Catalog:
    """Load (once per process) every version the source publishes, and the historical
    template families (a chart repository directory) forks may descend from."""
    key = (str(Path(source).resolve()), central_name, central_path,
           str(Path(families).resolve()) if families else None)
    with _lock:
        if key not in _cache:
            catalog = _load(Path(source), central_name, central_path)
            if families:
                catalog = _with_families(catalog, Path(families))
            _cache[key] = catalog
        return _cache[key]


def _with_families(catalog: Catalog, families: Path) -> Catalog:
    if not (families / "index.yaml").is_file():
        raise ConfigError(f"--families {families}: not a chart repository (no index.yaml)")
    found = _load_repository(families)
    clash = sorted({name for name, _ in found if name == catalog.central})
    if clash:
        raise ConfigError(f"--families {families}: holds {clash[0]}, the central chart itself")
    return Catalog(source=catalog.source, central=catalog.central,
                   charts={**catalog.charts, **found})


def _load(source: Path, central_name: str | None, central_path: str | None) -> Catalog:
    if not source.exists():
        raise ConfigError(f"--central {source}: no such file or directory")
    if (source / "index.yaml").is_file():
        charts = _load_repository(source)
    elif git.is_repo(source):
        charts = _load_git(source, central_path or ".")
    else:
        raise ConfigError(
            f"--central {source}: neither a chart repository (index.yaml) nor a git repository")
    if not charts:
        raise ConfigError(f"--central {source}: no chart versions found")
    names = sorted({name for name, _ in charts})
    if central_name is None:
        if len(names) > 1:
            raise ConfigError(f"--central {source} holds several charts ({', '.join(names)}): "
                              "name the central one with --central-name")
        central_name = names[0]
    elif central_name not in names:
        raise ConfigError(f"--central {source}: no chart named {central_name}")
    return Catalog(source=str(source), central=central_name, charts=charts)


def _load_repository(repo: Path) -> dict[tuple[str, str], LoadedChart]:
    index = YAML(typ="safe").load((repo / "index.yaml").read_text())
    charts: dict[tuple[str, str], LoadedChart] = {}
    for name, entries in (index.get("entries") or {}).items():
        for entry in entries:
            urls = entry.get("urls") or []
            archive = _local_archive(repo, urls, name, str(entry.get("version")))
            charts[(name, str(entry["version"]))] = render.load(archive)
    return charts


def _local_archive(repo: Path, urls: list[str], name: str, version: str) -> Path:
    for url in urls:
        candidate = repo / Path(url.split("://", 1)[-1]).name
        if candidate.is_file():
            return candidate
    fallback = repo / f"{name}-{version}.tgz"
    if fallback.is_file():
        return fallback
    raise MigratorError(f"{repo}/index.yaml: archive for {name} {version} not found locally")


def _load_git(repo: Path, chart_path: str) -> dict[tuple[str, str], LoadedChart]:
    charts: dict[tuple[str, str], LoadedChart] = {}
    tags = [t for t in git.run(["tag", "--list", "v*"], cwd=repo).split() if t]
    for tag in tags:
        with tempfile.TemporaryDirectory(prefix="migrator-central-") as tmp:
            archive = Path(tmp) / "chart.tar"
            prefix = "" if chart_path in ("", ".") else chart_path.strip("/")
            git.run(["archive", "--format=tar", "-o", str(archive), tag,
                     *([prefix] if prefix else [])], cwd=repo)
            tree = Path(tmp) / "tree"
            with tarfile.open(archive) as tar:
                tar.extractall(tree, filter="data")
            chart_dir = tree / prefix if prefix else tree
            loaded = render.load(chart_dir)
            if loaded.version != tag[1:]:
                raise MigratorError(
                    f"{repo}: tag {tag} holds {loaded.name} version {loaded.version}")
            charts[(loaded.name, loaded.version)] = loaded
    return charts
