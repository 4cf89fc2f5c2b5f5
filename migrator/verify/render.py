"""The one module that calls Helm (helm-python-sdk, Helm v4 in-process).

A fork's chart is copied into a sandbox before Helm sees it, so that a symlink leaving the repo,
a huge file or a binary template becomes a clear error instead of something Helm follows or chokes
on. Loaded charts are immutable and safe to share between threads.

Helm cannot be interrupted in-process (a render is one Go call that releases the GIL), so the
time and memory a render may take are enforced from outside: whoever runs the renders (the
planning worker processes) installs a watcher, told of each Helm call on a chart as it starts
and ends, and kills the process when one runs over. The output limit is enforced here.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import helm_python as helm

from migrator.errors import RenderError, RepoError

MAX_FILE_BYTES = 1024 * 1024  # Helm itself refuses charts past 5 MiB; one template past 1 MiB is
# not a template someone wrote by hand.
MIB = 1024 * 1024


@dataclass(frozen=True)
class RenderLimits:
    """What one Helm render may take before it is stopped and becomes its chart's reason."""

    seconds: float = 30.0  # wall time of one render
    memory_mib: int = 2048  # resident memory of the process that renders
    output_mib: int = 256  # rendered text of one render


@dataclass(frozen=True)
class HelmCall:
    """One Helm call on a chart, as a watcher sees it start."""

    action: Literal["load", "render"]
    origin: str  # how errors name the chart: a fork's path in its repo, or the chart's name
    release: str | None = None
    namespace: str | None = None
    environment: str | None = None


Watcher = Callable[[HelmCall], AbstractContextManager[object]]


@dataclass(frozen=True)
class _Guard:
    watcher: Watcher
    max_output_chars: int


def _unwatched(call: HelmCall) -> AbstractContextManager[object]:
    return nullcontext()


_guard = _Guard(_unwatched, RenderLimits().output_mib * MIB)


def guard(watcher: Watcher | None, limits: RenderLimits) -> None:
    """Watch every Helm call on a chart in this process: `watcher` is entered around each
    (None: unwatched), and a render whose text passes `limits.output_mib` is a RenderError."""
    global _guard
    _guard = _Guard(watcher or _unwatched, limits.output_mib * MIB)


@dataclass(frozen=True)
class LoadedChart:
    """A chart Helm has loaded, with what the other stages read from it."""

    chart: helm.Chart
    name: str
    version: str
    app_version: str | None
    values: dict[str, Any]  # the chart's defaults
    templates: dict[str, str]  # "templates/deployment.yaml" -> source
    # Chart.yaml `dependencies:` (or a Helm 2 requirements.yaml), as declared
    dependencies: tuple[dict[str, Any], ...] = ()
    subcharts: tuple[dict[str, Any], ...] = ()  # the metadata of those vendored under charts/
    # The chart as an archive, when it has subcharts: Helm drops a subchart its condition turns
    # off from the loaded chart itself, so each render starts from a fresh copy of this.
    archive: bytes | None = None


def load(path: Path) -> LoadedChart:
    """Load a chart directory or .tgz archive that the tool itself produced or trusts."""
    try:
        chart = helm.Chart.load(path)
    except helm.HelmError as exc:
        raise RenderError(f"{path.name}: Helm cannot load the chart: {exc}") from exc
    return _loaded(chart)


def write_chart_repository(repo_dir: Path, charts: Iterable[Path]) -> None:
    """`helm package` every chart directory into `repo_dir`, then `helm repo index` it (an empty
    index when there are no charts)."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    for chart in charts:
        try:
            helm.package(chart, destination=repo_dir)
        except helm.HelmError as exc:
            raise RenderError(f"{chart}: Helm cannot package the chart: {exc}") from exc
    try:
        helm.repo_index_generate(repo_dir)
    except helm.HelmError as exc:
        raise RenderError(f"{repo_dir}: Helm cannot index the chart repository: {exc}") from exc


class ChartLoadError(RepoError):
    """Helm refuses to load an embedded chart (no version, a templated version, values.yaml
    that is not a map...): a reason on that chart, not a fault of the tool or the repository."""


def load_fork(repo: Path, chart_dir: str) -> LoadedChart:
    """Load an embedded chart from an app repo, checked first. Helm reads the checked folder
    itself when nothing in it is a link, else a checked copy (each link replaced by the file it
    names inside the repo)."""
    src = repo / chart_dir
    root = repo.resolve()
    if _checked_in_place(root, src, chart_dir):
        return _load_checked(src, chart_dir)
    with tempfile.TemporaryDirectory(prefix="migrator-fork-") as tmp:
        dst = Path(tmp) / (Path(chart_dir).name or "chart")
        _checked_copy(root, src, dst, chart_dir)
        # The loaded chart lives in memory; the sandbox can go.
        return _load_checked(dst, chart_dir)


def _load_checked(path: Path, chart_dir: str) -> LoadedChart:
    try:
        with _guard.watcher(HelmCall("load", chart_dir)):
            chart = helm.Chart.load(path)
    except helm.HelmError as exc:
        raise _load_error(chart_dir, exc) from exc
    return _loaded(chart)


def _load_error(chart_dir: str, exc: helm.HelmError) -> RepoError:
    """The chart's reason, on the file Helm refused: a values.yaml that is not YAML cannot be
    read at all (its line, like any malformed file); one that is not a map, Helm refuses."""
    text = _one_line(str(exc))
    if not text.startswith("cannot load values.yaml"):
        return ChartLoadError(text, file=f"{chart_dir}/Chart.yaml")
    rel = f"{chart_dir}/values.yaml"
    syntax = re.search(r"yaml: line (\d+): (.+)$", text)
    if syntax:
        return RepoError(f"malformed YAML ({syntax.group(2)})", file=rel,
                         line=int(syntax.group(1)))
    return ChartLoadError(f"values.yaml is not a map of keys ({text})", file=rel)


def _loaded(chart: helm.Chart) -> LoadedChart:
    meta = chart.metadata
    app_version = meta.get("appVersion")
    return LoadedChart(
        chart=chart,
        name=str(meta.get("name", "")),
        version=str(meta.get("version", "")),
        app_version=None if app_version is None else str(app_version),
        # Helm gives None for a chart without a values.yaml: its defaults are empty.
        values=chart.values if chart.values is not None else {},
        templates={t["name"]: t["data"] for t in chart.templates},
        dependencies=tuple(d for d in meta.get("dependencies") or () if isinstance(d, dict)),
        subcharts=tuple(chart.dependencies),
        archive=_archive(chart) if chart.dependencies else None,
    )


def _archive(chart: helm.Chart) -> bytes:
    with tempfile.TemporaryDirectory(prefix="migrator-archive-") as tmp:
        return Path(chart.save(tmp)).read_bytes()


def _checked_copy(repo: Path, src: Path, dst: Path, chart_dir: str) -> None:
    for root, dirs, files in os.walk(src, followlinks=False):
        rel_root = Path(root).relative_to(src)
        (dst / rel_root).mkdir(parents=True, exist_ok=True)
        _check_links(repo, Path(root), rel_root, [*dirs, *files], chart_dir)
        for name in files:
            data = _checked_file(Path(root) / name, rel_root, name, chart_dir, whole=True)
            (dst / rel_root / name).write_bytes(data)
    if not (dst / "Chart.yaml").is_file():
        raise RepoError(f"{chart_dir}/Chart.yaml: missing")


def _checked_in_place(repo: Path, src: Path, chart_dir: str) -> bool:
    """Whether Helm can read `src` itself: the copy's checks pass (or raise, as the copy's
    would), and no link is on the way to it or in it (else False, and the copy decides)."""
    if os.path.realpath(src) != os.path.normpath(repo / chart_dir):
        return False
    for root, dirs, files in os.walk(src, followlinks=False):
        rel_root = Path(root).relative_to(src)
        if _check_links(repo, Path(root), rel_root, [*dirs, *files], chart_dir):
            return False
        for name in files:
            _checked_file(Path(root) / name, rel_root, name, chart_dir, whole=False)
    if not (src / "Chart.yaml").is_file():
        raise RepoError(f"{chart_dir}/Chart.yaml: missing")
    return True


def _check_links(repo: Path, root: Path, rel_root: Path, names: list[str], chart_dir: str
                 ) -> bool:
    """Refuse a link leaving the repo or naming a folder; True when `names` hold a link."""
    linked = False
    for name in names:
        path = root / name
        if path.is_symlink():
            rel = f"{chart_dir}/{rel_root / name}".replace("/./", "/")
            target = path.resolve()
            if not target.is_relative_to(repo):
                raise RepoError(f"{rel}: symlink points outside the repository")
            if target.is_dir():
                raise RepoError(f"{rel}: symlinked directories are not supported in charts")
            linked = True
    return linked


def _checked_file(path: Path, rel_root: Path, name: str, chart_dir: str, whole: bool
                  ) -> bytes:
    """Refuse a file too big, or binary where text is expected. Its content (`whole`), or as
    much of its start as the check reads."""
    rel = f"{chart_dir}/{rel_root / name}".replace("/./", "/")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RepoError(f"{rel}: file is {size} bytes, over the {MAX_FILE_BYTES} limit")
    textual = "templates" in Path(rel).parts or name.endswith((".yaml", ".yml", ".tpl"))
    if not whole and not textual:
        return b""
    with path.open("rb") as f:
        data = f.read() if whole else f.read(8192)
    if textual and b"\0" in data[:8192]:
        raise RepoError(f"{rel}: binary content where a text file is expected")
    return data


def parse_values(text: str, origin: str) -> dict[str, Any]:
    """Parse a values file exactly as Helm does (its own YAML reader)."""
    try:
        return helm.values_from_yaml(text)
    except helm.HelmError as exc:
        raise RepoError(f"{origin}: {exc}") from exc


def parse_set(kind: str, expression: str) -> dict[str, Any]:
    """Parse one --set-style expression with Helm's own parser."""
    parsers = {
        "set": helm.parse_set_string,
        "set-string": helm.parse_set_string_values,
        "set-json": helm.parse_set_json,
        "set-literal": helm.parse_set_literal,
    }
    try:
        return parsers[kind](expression)
    except KeyError as exc:
        raise RenderError(f"--{kind} {expression}: not supported for rendering") from exc
    except helm.HelmError as exc:
        raise RenderError(f"--{kind} {expression}: {exc}") from exc


def render(
    loaded: LoadedChart,
    values: Mapping[str, Any],
    *,
    release: str,
    namespace: str | None,
    origin: str,
    environment: str | None = None,
) -> dict[str, str]:
    """Render offline as `helm upgrade --install` would.

    `origin` is how errors name the chart: for a fork, its path in the repo, so that Helm's
    "orders/templates/x.yaml:12" becomes "deploy/orders/templates/x.yaml:12". `environment`
    only tells a watcher which one is rendered.
    """
    call = HelmCall("render", origin, release, namespace, environment)
    try:
        with _guard.watcher(call):
            rendered = _render(loaded, values, release, namespace)
    except helm.HelmError as exc:
        detail = _one_line(getattr(exc, "detail", None) or str(exc))
        if origin != loaded.name:
            detail = detail.replace(f"{loaded.name}/templates/", f"{origin}/templates/")
        raise RenderError(detail if origin in detail else f"{origin}: {detail}") from exc
    size = sum(len(text) for text in rendered.values())
    if size > _guard.max_output_chars:
        # Past this, comparing and reporting would cost more than the render did; no chart a
        # person deploys renders hundreds of MiB.
        limit = _guard.max_output_chars // MIB
        raise RenderError(f"{origin}: rendered {size / MIB:.0f} MiB of text, over the {limit} MiB "
                          "output limit (--render-output-mib)")
    return rendered


def _render(loaded: LoadedChart, values: Mapping[str, Any], release: str,
            namespace: str | None) -> dict[str, str]:
    if loaded.archive is None:
        return loaded.chart.render(values=dict(values), name=release,
                                   namespace=namespace or "default", is_install=True)
    fresh = helm.Chart.load_archive(loaded.archive)
    try:
        return fresh.render(values=dict(values), name=release,
                            namespace=namespace or "default", is_install=True)
    finally:
        fresh.close()


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def parse_manifests(rendered: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(template, object) for every Kubernetes object Helm rendered, parsed by Helm's reader."""
    objects: list[tuple[str, dict[str, Any]]] = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt and the like are never applied
        for doc in _split_documents(text):
            try:
                obj = helm.values_from_yaml(doc)
            except helm.HelmError as exc:
                raise RenderError(f"{template}: rendered output is not valid YAML: {exc}") from exc
            if obj:
                objects.append((template, obj))
    return objects


def _split_documents(text: str) -> list[str]:
    docs: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("---"):
            docs.append([])
        else:
            docs[-1].append(line)
    return ["\n".join(d) for d in docs if any(x.strip() and not x.lstrip().startswith("#")
                                                 for x in d)]

