"""Independent text analysis of a checked-out repository, for benchmarks/real_world.py.

Nothing here imports `migrator`: these are rough, documented greps that estimate what the tool
should have found, so that the tool's reports can be checked against something it did not compute.

* `find_charts`: every directory holding a `Chart.yaml`, except vendored subcharts (a directory
  under a `charts/` folder whose parent holds a `Chart.yaml`).
* `deploy_hits`: places that deploy a chart:
  - `helm`: a line invoking `helm`/`helm3` with `upgrade`, `install` or `template` (only flags may
    stand between the binary and the verb, so `helm plugin install` does not count). Shell
    continuations (`\\` at the end of a line) are joined, and in YAML files a folded block
    (`>`/`>-`) or a plain scalar continued on deeper-indented lines is joined too. Comment lines
    (`#`, `//`) are skipped. Markdown/reStructuredText/plain-text files are kept apart as `doc`.
  - `helmfile`: a `chart:` entry of a helmfile (`helmfile*.y*ml[.gotmpl]`, `helmfile.d/`) that
    names a local path (starts with `./`, `../`, `/`, or exists beside the helmfile).
  - `argocd`: a `path:` key nested under `source:`/`sources:` in a YAML file that mentions
    `repoURL` (Argo CD `Application`, `ApplicationSet`, or a chart template generating them).
  - `yaml-chart`: any other YAML key `chart:`/`chartPath:`/`chart_path:` whose value resolves to a
    local chart directory (CircleCI helm orb, skaffold ...).
  Each hit's chart argument is resolved against the repo root, the file's folder, and folders a
  nearby `cd X`, `dir('X')`, `dir: X` or `working-directory: X` names (15 lines up, roughly). The
  hit's `relevance` is `local` (resolves to a chart found by `find_charts`), `variable` (built at
  run time: `$`, `{{`, `%`, backtick), `remote` (a URL, `repo/name` that does not exist locally,
  a path under another `repoURL`) or `unresolved` (path-like, but names no chart here).
* `scaffold_similarity`: how much a chart's templates look like a `helm create` scaffold, from
  eight marker patterns (see `MARKERS`), each tolerant of the Helm 2/3/4 spellings, plus the share
  of the scaffold's own template lines found in the chart once both helper prefixes are replaced
  by one placeholder.
* `leftover_hits`: after a patch is applied, every remaining mention of a path it deleted.
* `TemplateEstimate`: each chart's closest central version or family by template similarity
  alone: the candidate (every `.tgz` of the chart repositories given) maximizing the Jaccard
  index of the two charts' sets of template lines over the union of their template files. A
  line is `file::text` (file name under `templates/`, lowercased, `.yml` read as `.yaml`, a
  `.gotmpl` suffix dropped; text stripped, spaces collapsed, `{{-`/`-}}` read as `{{`/`}}`, the
  `fullname` helper's prefix replaced by one placeholder). NOTES.txt and `templates/tests/` are
  left out. Below `MIN_JACCARD` the chart is "not derived". Candidates within `NEAR_TIE` of the
  best are ones the estimate cannot tell apart.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_BYTES = 1_000_000
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "vendor", "__pycache__"}
DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc"}
YAML_SUFFIXES = (".yml", ".yaml", ".yml.gotmpl", ".yaml.gotmpl", ".yaml.tpl", ".yml.tpl")


# --------------------------------------------------------------------------- files

def text_files(root: Path) -> list[str]:
    """Repo-relative paths of text files (no NUL byte in the first 8 KiB, at most 1 MB)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
                continue
            with path.open("rb") as fh:
                if b"\0" in fh.read(8192):
                    continue
            out.append(path.relative_to(root).as_posix())
    return sorted(out)


def read_lines(root: Path, rel: str) -> list[str]:
    data = (root / rel).read_bytes().decode("utf-8", errors="replace")
    return data.splitlines()


def is_doc(rel: str) -> bool:
    name = rel.lower()
    return Path(name).suffix in DOC_SUFFIXES or Path(name).name.startswith("readme")


def is_yaml(rel: str) -> bool:
    return rel.lower().endswith(YAML_SUFFIXES)


def find_charts(root: Path, files: Iterable[str]) -> list[str]:
    """Directories holding a Chart.yaml (repo-relative, '' for the root), vendored ones excluded."""
    dirs = sorted({str(Path(f).parent) if str(Path(f).parent) != "." else ""
                   for f in files if Path(f).name == "Chart.yaml"})
    out = []
    for d in dirs:
        parts = Path(d).parts
        vendored = any(parts[i] == "charts" and
                       (root / Path(*parts[:i]) / "Chart.yaml").is_file()
                       for i in range(len(parts)))
        if not vendored:
            out.append(d)
    return out


_USERINFO = re.compile(r"(://)[^/\s:@]+:[^/\s@]+@")
_SECRETISH = re.compile(r"((?:pass(?:word|wd)?|secret|token|api[-_]?key)[\w-]*\s*[=:]\s*)"
                        r"(?![\s$\\{]|\$)\S+", re.IGNORECASE)


def scrub(text: str) -> str:
    """Lines quoted from repositories: no credential-looking value is copied out."""
    return _SECRETISH.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


# --------------------------------------------------------------------------- deploy hits

@dataclass
class Hit:
    file: str
    line: int  # 1-based first line of the (joined) command
    end_line: int
    kind: str  # helm | helmfile | argocd | yaml-chart
    text: str
    target: str | None  # the chart argument as written
    relevance: str  # local | variable | remote | unresolved | doc
    chart: str | None = None  # the chart directory it resolves to (local only)
    # filled by the comparison with the tool's report
    status: str = ""  # found | flagged | missed | n/a
    tool_ref: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["text"] = scrub(self.text)
        return out


_HELM = re.compile(
    r"(?<![\w.-])(?:helm3?|\$\{?HELM\}?|\$\(HELM\))"
    r"((?:\s+-{1,2}[\w-]+(?:=\S+|\s+(?!upgrade\b|install\b|template\b)[^\s-]\S*)?)*)"
    r"\s+(upgrade|install|template)\b(.*)")
_VALUE_FLAGS = {
    "-f", "--values", "--set", "--set-string", "--set-file", "--set-json", "--set-literal",
    "-n", "--namespace", "--version", "--kube-context", "--kubeconfig", "--timeout", "--repo",
    "--name", "--name-template", "--output-dir", "--post-renderer", "--post-renderer-args",
    "--description", "--history-max", "--ca-file", "--cert-file", "--key-file", "--username",
    "--password", "-o", "--output", "--api-versions", "-a", "--kube-version", "--show-only",
    "-s", "--tiller-namespace", "--max-history", "--labels", "-l", "--wait-for-jobs-timeout",
    "--kube-apiserver", "--kube-token", "--kube-as-user", "--registry-config",
    "--repository-cache", "--repository-config",
}
_DYNAMIC = re.compile(r"\$|\{\{|%|`|@\{|<<")
_CWD_HINTS = [
    re.compile(r"\bcd\s+[\"']?([^\s\"';&|)]+)"),
    re.compile(r"\bdir\s*\(\s*[\"']([^\"']+)[\"']"),
    re.compile(r"^\s*dir:\s*[\"']?([^\s\"'#]+)"),
    re.compile(r"working[-_]directory:\s*[\"']?([^\s\"'#]+)"),
]


def logical_lines(rel: str, lines: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first line, last line, joined text) for every command-ish line, 1-based."""
    out: list[tuple[int, int, str]] = []
    yaml = is_yaml(rel)
    i = 0
    folded_indent: int | None = None  # inside a YAML folded block, its content indent
    while i < len(lines):
        start = i
        text = lines[i]
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i].strip()
        if yaml:
            indent = len(text) - len(text.lstrip())
            if folded_indent is not None and (text.strip() == "" or indent < folded_indent):
                folded_indent = None
            stripped = text.rstrip()
            if re.search(r":\s*>[-+]?\d*$|^\s*-\s*>[-+]?\d*$", stripped):
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                folded_indent = len(nxt) - len(nxt.lstrip()) if nxt.strip() else None
            elif folded_indent is not None or _HELM.search(text):
                # join the rest of a folded block, or a plain scalar continued deeper
                base = indent
                item = re.match(r"^(\s*-\s+)", text)
                if item:
                    base = len(item.group(1)) - 1
                j = i + 1
                while j < len(lines) and lines[j].strip() and j - i < 12:
                    nxt = lines[j]
                    nind = len(nxt) - len(nxt.lstrip())
                    if folded_indent is not None:
                        if nind != folded_indent:
                            break  # the folded block ended
                    elif (nind <= base or nxt.lstrip().startswith(("- ", "#"))
                          or re.match(r"^\s*[\w.-]+:(\s|$)", nxt)):
                        break  # a plain scalar continues only on deeper, non-key lines
                    text = text.rstrip() + " " + nxt.strip()
                    j += 1
                if j > i + 1:
                    i = j - 1
        out.append((start + 1, i + 1, text))
        i += 1
    return out


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def chart_argument(after_verb: str) -> tuple[str | None, list[str]]:
    """The chart positional of a helm upgrade/install/template command (rough), and all
    positionals."""
    # the command ends at a shell separator
    cut = re.split(r"\s(?:&&|\|\||;|\|)\s|;\s*$|\)\s*$|'\s*$|\"\s*$", after_verb, maxsplit=1)[0]
    tokens = _split(cut)
    positionals: list[str] = []
    skip = False
    for tok in tokens:
        if skip:
            skip = False
            continue
        if tok.startswith("-"):
            if "=" not in tok and tok in _VALUE_FLAGS:
                skip = True
            continue
        positionals.append(tok.strip("'\""))
    if not positionals:
        return None, positionals
    pathish = [p for p in positionals if "/" in p or p in (".", "..") or p.startswith(".")]
    if pathish:
        return pathish[-1], positionals
    return positionals[-1], positionals


def _norm(path: str) -> str:
    return os.path.normpath(path).replace("\\", "/")


def resolve(root: Path, target: str, bases: Sequence[str], charts: Sequence[str]) -> str | None:
    """The chart directory `target` names, trying each base folder; None when none matches."""
    t = target.strip("'\"").rstrip("/")
    if t.startswith("file://"):
        t = t[len("file://"):]
    if t == "":
        t = "."
    chart_set = {c or "." for c in charts}
    for base in bases:
        rel = _norm(os.path.join(base or ".", t)) if not t.startswith("/") else _norm(t[1:])
        if rel.startswith(".."):
            continue
        probe = rel
        while True:
            if probe in chart_set:
                return "" if probe == "." else probe
            if probe in (".", ""):
                break
            probe = _norm(os.path.dirname(probe)) or "."
            if probe == ".":
                if "." in chart_set and rel == ".":
                    return ""
                break
    return None


def _cwd_hints(lines: Sequence[str], first: int, text: str) -> list[str]:
    hints: list[str] = []
    window = [text, *reversed(lines[max(0, first - 16):first - 1])]
    for chunk in window:
        for rx in _CWD_HINTS:
            for m in rx.finditer(chunk):
                value = m.group(1).rstrip("/")
                if value and not _DYNAMIC.search(value) and value not in hints:
                    hints.append(value)
    return hints


def _classify(root: Path, rel: str, target: str | None, bases: Sequence[str],
              charts: Sequence[str], remote_hint: bool = False) -> tuple[str, str | None]:
    if target is None:
        return "unresolved", None
    chart = resolve(root, target, bases, charts)
    if chart is not None:
        return "local", chart
    if _DYNAMIC.search(target):
        return "variable", None
    if remote_hint or "://" in target:
        return "remote", None
    if re.fullmatch(r"[\w.-]+/[\w.-]+", target) and not any(
            (root / b / target).exists() for b in bases):
        return "remote", None
    return "unresolved", None


def deploy_hits(root: Path, files: Sequence[str], charts: Sequence[str],
                own_name: str = "") -> list[Hit]:
    """`own_name`: the repository's name, so that an Argo CD `repoURL` naming this very
    repository is not taken for another one."""
    hits: list[Hit] = []
    for rel in files:
        in_templates = any(rel.startswith(f"{c}/templates/" if c else "templates/")
                           for c in charts)
        try:
            lines = read_lines(root, rel)
        except OSError:
            continue
        folder = str(Path(rel).parent) if str(Path(rel).parent) != "." else ""
        doc = is_doc(rel)
        hits.extend(_helm_hits(root, rel, lines, folder, charts, doc))
        if is_yaml(rel) and not doc:
            name = Path(rel).name.lower()
            if name.startswith("helmfile") or "/helmfile.d/" in f"/{rel}":
                hits.extend(_helmfile_hits(root, rel, lines, folder, charts))
            elif not in_templates:  # a chart's own `chart:` labels are not deploys
                hits.extend(_yaml_chart_hits(root, rel, lines, folder, charts))
            if any("repoURL" in line for line in lines):
                hits.extend(_argocd_hits(root, rel, lines, folder, charts, own_name))
    return hits


def _helm_hits(root: Path, rel: str, lines: Sequence[str], folder: str,
               charts: Sequence[str], doc: bool) -> list[Hit]:
    out = []
    for first, last, text in logical_lines(rel, lines):
        stripped = text.strip()
        if stripped.startswith(("#", "//")) and not doc:
            continue
        m = _HELM.search(text)
        if not m:
            continue
        target, _ = chart_argument(m.group(3))
        bases = ["", folder, *[_norm(os.path.join(folder, h)) for h in
                               _cwd_hints(lines, first, text[:m.start()])],
                 *_cwd_hints(lines, first, text[:m.start()])]
        relevance, chart = _classify(root, rel, target, bases, charts)
        if doc:
            relevance = "doc"
        out.append(Hit(rel, first, last, "helm", stripped[:300], target, relevance, chart))
    return out


_CHART_KEY = re.compile(r"^(\s*(?:-\s+)?)(chart|chartPath|chart_path):\s*[\"']?([^\"'#\s]+)")


def _helmfile_hits(root: Path, rel: str, lines: Sequence[str], folder: str,
                   charts: Sequence[str]) -> list[Hit]:
    out = []
    for n, line in enumerate(lines, start=1):
        m = _CHART_KEY.match(line)
        if not m or m.group(2) != "chart":
            continue
        value = m.group(3)
        local = value.startswith(("./", "../", "/")) or value in (".", "..") or (
            not _DYNAMIC.search(value) and (root / folder / value).exists())
        if not local and not _DYNAMIC.search(value):
            relevance, chart = "remote", None
        else:
            relevance, chart = _classify(root, rel, value, [folder, ""], charts)
        out.append(Hit(rel, n, n, "helmfile", line.strip()[:300], value, relevance, chart))
    return out


def _yaml_chart_hits(root: Path, rel: str, lines: Sequence[str], folder: str,
                     charts: Sequence[str]) -> list[Hit]:
    out = []
    for n, line in enumerate(lines, start=1):
        m = _CHART_KEY.match(line)
        if not m:
            continue
        value = m.group(3)
        if _DYNAMIC.search(value) or "://" in value:
            continue
        chart = resolve(root, value, ["", folder], charts)
        if chart is None:
            continue
        out.append(Hit(rel, n, n, "yaml-chart", line.strip()[:300], value, "local", chart))
    return out


def _argocd_hits(root: Path, rel: str, lines: Sequence[str], folder: str,
                 charts: Sequence[str], own_name: str = "") -> list[Hit]:
    """`path:` keys that are direct children of a `source:` (or of an item of `sources:`)."""
    out = []
    source_indent: int | None = None
    child_indent: int | None = None
    block: list[tuple[int, str]] = []

    def flush() -> None:
        repo_url = next((v for _, v in block if v.startswith("repoURL:")), "")
        url = repo_url.split(":", 1)[1].strip().strip("'\"").removesuffix(".git").rstrip("/") \
            if repo_url else ""
        other = bool(url) and not _DYNAMIC.search(url) and not (
            own_name and url.lower().endswith("/" + own_name.lower()))
        for n, v in block:
            if not v.startswith("path:"):
                continue
            value = v.split(":", 1)[1].strip().strip("'\"")
            relevance, chart = _classify(root, rel, value, [""], charts)
            if relevance != "local" and other:
                relevance = "remote"
            elif relevance == "remote":
                relevance = "unresolved"  # this repository, but no chart there
            if relevance == "unresolved" and (root / value.strip("/")).is_dir():
                relevance = "not-chart"  # e.g. an app-of-apps folder of Applications
            out.append(Hit(rel, n, n, "argocd", f"{v}  [{repo_url}]"[:300], value, relevance,
                           chart))

    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if source_indent is not None and indent <= source_indent and not (
                indent == source_indent and body.startswith("- ") and child_indent is None):
            flush()
            block, source_indent, child_indent = [], None, None
        if re.match(r"^(?:-\s+)?sources?:\s*$", body):
            if source_indent is not None:
                flush()
                block = []
            source_indent, child_indent = indent, None
            continue
        if source_indent is not None:
            item = body.startswith("- ")
            key = body[2:] if item else body
            key_indent = indent + 2 if item else indent
            if child_indent is None:
                child_indent = key_indent
            if item and key_indent == child_indent and block:
                flush()  # the next item of `sources:`
                block = []
            if key_indent == child_indent and key.startswith(("path:", "repoURL:")):
                block.append((n, key))
    if source_indent is not None:
        flush()
    return out


# --------------------------------------------------------------------------- scaffold

# Each marker is a concept every `helm create` scaffold carries, in a spelling tolerant of the
# Helm 2 (template "x.fullname", app/release labels), Helm 3 and Helm 4 (with .Values.resources)
# scaffolds. `P` stands for the chart's helper prefix (any prefix is accepted, or none).
MARKERS: dict[str, str] = {
    "fullname": r"(?:include|template)\s+\"(?:[\w.-]+\.)?fullname\"",
    "selectorLabels": r"selectorLabels|app(?:\.kubernetes\.io/name)?:\s*\{\{-?\s*(?:template|"
                      r"include)\s+\"(?:[\w.-]+\.)?name\"",
    "serviceAccountName": r"serviceAccountName",
    "replicaCount": r"\.Values\.replicaCount",
    "autoscaling": r"\.Values\.autoscaling\.enabled",
    "podAnnotations": r"\.Values\.podAnnotations",
    "resources": r"toYaml\s+\.Values\.resources|with\s+\.Values\.resources",
    "imageRepository": r"\.Values\.image\.repository",
}
LOW_MARKERS = 2  # at most this many of the 8 markers: not a scaffold fork (estimate)
_PLACEHOLDER = "PFX."
_TRIVIAL = re.compile(r"^(?:\{\{-?\s*end\s*-?\}\}|\{\{-?\s*else\s*-?\}\}|---|[\w.-]+:|-)$")


def _template_text(chart_dir: Path) -> str:
    parts = []
    tdir = chart_dir / "templates"
    if tdir.is_dir():
        for path in sorted(tdir.rglob("*")):
            if path.is_file() and path.stat().st_size <= MAX_BYTES:
                parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def helper_prefix(text: str) -> str | None:
    m = re.search(r"define\s+\"([\w.-]+\.)fullname\"", text)
    if m:
        return m.group(1)
    m = re.search(r"(?:include|template)\s+\"([\w.-]+\.)fullname\"", text)
    return m.group(1) if m else None


def _norm_lines(text: str, prefix: str | None) -> set[str]:
    if prefix:
        text = text.replace(f'"{prefix}', f'"{_PLACEHOLDER}')
    out = set()
    for raw in text.splitlines():
        line = re.sub(r"\s+", " ", raw.strip())
        if len(line) < 8 or _TRIVIAL.match(line):
            continue
        out.add(line)
    return out


class Scaffold:
    """The reference `helm create` scaffold, made once with helm-python-sdk."""

    def __init__(self) -> None:
        import helm_python  # the only non-stdlib module, and only for making the scaffold

        self.tmp = tempfile.TemporaryDirectory(prefix="scaffold-")
        helm_python.Chart.create("scaffoldref", self.tmp.name)
        text = _template_text(Path(self.tmp.name) / "scaffoldref")
        self.lines = _norm_lines(text, "scaffoldref.")
        missing = [k for k, rx in MARKERS.items() if not re.search(rx, text)]
        if missing:
            raise RuntimeError(f"scaffold markers not found in `helm create` output: {missing}")

    def similarity(self, chart_dir: Path) -> dict[str, Any]:
        text = _template_text(chart_dir)
        prefix = helper_prefix(text)
        found = [k for k, rx in MARKERS.items() if re.search(rx, text)]
        mine = _norm_lines(text, prefix)
        shared = len(self.lines & mine) / len(self.lines) if self.lines else 0.0
        return {
            "markers": len(found),
            "marker_names": found,
            "line_share": round(shared, 3),
            "helper_prefix": prefix,
            "low": len(found) <= LOW_MARKERS,
        }


# --------------------------------------------------------------------------- lineage estimate

# The tool's default lineage threshold (0.42, mostly a share of matched lines over all lines of
# both charts, Dice-like) in Jaccard terms, J = D / (2 - D): the same bar on an independent
# measure. It also falls in the widest gap of this estimate's own scores on the corpus.
MIN_JACCARD = 0.266
NEAR_TIE = 0.01  # candidates this close to the best are the estimate's ties


def _estimate_key(rel: str) -> str:
    key = rel.lower().removesuffix(".gotmpl")
    return f"{key[:-4]}.yaml" if key.endswith(".yml") else key


def _estimate_lines(files: dict[str, str]) -> frozenset[str]:
    """`file::line` for every template line of a chart (templates/-relative paths -> text)."""
    prefix = helper_prefix("\n".join(files.values()))
    out = set()
    for rel, text in files.items():
        if Path(rel).name == "NOTES.txt" or rel.startswith("tests/"):
            continue
        if prefix:
            text = text.replace(f'"{prefix}', f'"{_PLACEHOLDER}')
        for raw in text.splitlines():
            line = re.sub(r"\s+", " ", raw.strip()).replace("{{- ", "{{ ").replace(" -}}", " }}")
            if line:
                out.add(f"{_estimate_key(rel)}::{line}")
    return frozenset(out)


def _dir_templates(chart_dir: Path) -> dict[str, str]:
    tdir = chart_dir / "templates"
    out: dict[str, str] = {}
    if tdir.is_dir():
        for path in sorted(tdir.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_BYTES:
                out[path.relative_to(tdir).as_posix()] = path.read_bytes().decode(
                    "utf-8", errors="replace")
    return out


def _archive_chart(archive: Path) -> tuple[str, dict[str, str]]:
    """("name version", templates) of a packaged chart."""
    templates: dict[str, str] = {}
    meta = ""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 2:
                continue
            data = tar.extractfile(member)
            text = data.read().decode("utf-8", errors="replace") if data else ""
            if parts[1:] == ["Chart.yaml"]:
                meta = text
            elif len(parts) > 2 and parts[1] == "templates":
                templates["/".join(parts[2:])] = text
    name = re.search(r"(?m)^name:\s*[\"']?([^\s\"']+)", meta)
    version = re.search(r"(?m)^version:\s*[\"']?([^\s\"']+)", meta)
    if not name or not version:
        raise ValueError(f"{archive}: no name or version in Chart.yaml")
    return f"{name.group(1)} {version.group(1)}", templates


class TemplateEstimate:
    """The closest candidate of the chart repositories by template line sets (see above)."""

    def __init__(self, repositories: Sequence[Path]) -> None:
        self.candidates: dict[str, frozenset[str]] = {}
        for repo in repositories:
            for archive in sorted(repo.glob("*.tgz")):
                name, templates = _archive_chart(archive)
                self.candidates[name] = _estimate_lines(templates)

    def estimate(self, chart_dir: Path) -> dict[str, Any]:
        mine = _estimate_lines(_dir_templates(chart_dir))
        scores = sorted(((len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0,
                          name) for name, theirs in self.candidates.items()),
                        key=lambda pair: (-pair[0], pair[1]))
        best = scores[0][0] if scores else 0.0
        return {
            "closest": scores[0][1] if scores else None,
            "jaccard": round(best, 3),
            "near": [name for score, name in scores if best - score <= NEAR_TIE],
            "second": f"{scores[1][1]} {scores[1][0]:.3f}" if len(scores) > 1 else None,
            "derived": bool(mine) and best >= MIN_JACCARD,
        }


def lineage_agrees(tool: dict[str, Any] | None, estimate: dict[str, Any]) -> bool | None:
    """Whether the tool's lineage decision (`{"derived": bool, "candidate": "name version"}`)
    agrees with the estimate; None when the tool made none (it stopped before lineage). A chart
    planned with no origin at all (`"derived": None`) agrees with nothing."""
    if tool is None:
        return None
    if tool["derived"] is None:
        return False
    if not tool["derived"] or not estimate["derived"]:
        return tool["derived"] == estimate["derived"]
    return tool["candidate"] in estimate["near"]


# --------------------------------------------------------------------------- patches

def git(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-c", "core.autocrlf=false", *args], cwd=cwd, check=check,
                          capture_output=True, text=True)


def fresh_checkout(source: Path, commit: str, dest: Path) -> None:
    subprocess.run(["git", "-c", "core.autocrlf=false", "clone", "-q", "--no-checkout",
                    str(source), str(dest)], check=True, capture_output=True)
    git(["-c", "advice.detachedHead=false", "checkout", "-q", commit], dest)


def deleted_paths(checkout: Path, patch: Path) -> list[str]:
    out = git(["apply", "--summary", str(patch)], checkout, check=False).stdout
    return [line.strip().split(" ", 3)[-1] for line in out.splitlines()
            if line.strip().startswith("delete mode")]


def removed_roots(checkout_after: Path, deleted: Sequence[str]) -> list[str]:
    """What to look for once the patch is applied: the topmost directories that no longer
    exist, every deleted chart directory (the folder of a deleted Chart.yaml), and deleted files
    outside both."""
    roots: set[str] = set()
    for f in deleted:
        parts = Path(f).parts
        top = None
        for i in range(1, len(parts)):
            d = Path(*parts[:i])
            if not (checkout_after / d).exists():
                top = d.as_posix()
                break
        roots.add(top or f)
        if Path(f).name == "Chart.yaml" and len(parts) > 1:
            chart_dir = Path(f).parent.as_posix()
            if not (checkout_after / chart_dir).exists():
                roots.add(chart_dir)
    return sorted(roots)


def _path_patterns(removed: str) -> list[tuple[str, re.Pattern[str]]]:
    """(kind, pattern). `path`: the repo-relative path itself; the others name only the last
    component and count only in a file whose own folder holds the removed path."""
    name = Path(removed).name
    esc_path, esc_name = re.escape(removed), re.escape(name)
    left = r"(?:^|(?<=[\s\"'=:(,\[{]))"
    right = r"(?=[/\s\"'),\]}:;]|$)"
    pats: list[tuple[str, re.Pattern[str]]] = []
    if "/" in removed or name.startswith("."):
        pats.append(("path", re.compile(left + r"(?:\./|/)?" + esc_path + right)))
    else:
        pats.append(("path", re.compile(left + r"(?:\./)?" + esc_path + r"/")))
    pats += [
        ("cd", re.compile(r"\bcd\s+[\"']?(?:\./)?" + esc_name + r"/?(?=[\s\"';&|)]|$)")),
        ("path:", re.compile(r"\bpath:\s*[\"']?(?:\./)?" + esc_name + r"/?[\"']?\s*(?:#.*)?$")),
        ("chart:", re.compile(r"\bchart:\s*[\"']?(?:\./)?" + esc_name +
                              r"/?[\"']?\s*(?:#.*)?$")),
        ("./name", re.compile(r"(?<![\w.-])\./" + esc_name + r"(?![\w.-])")),
        # a script's own folder: "$script_dir/chart", "$(dirname "$0")/chart", "${DIR}/chart"
        ("$dir/name", re.compile(r"(?:\$\{?\w+\}?|\$\(dirname[^)]*\)|\$\(pwd\))/" + esc_name +
                                 r"(?![\w.-])")),
    ]
    return pats


_RUNS_AT_ROOT = re.compile(r"^(?:\.github/workflows/|\.circleci/|\.gitlab-ci|\.gitlab/ci/|"
                          r"Jenkinsfile|azure-pipelines|bitbucket-pipelines|codefresh|\.drone|"
                          r"cloudbuild)")


def leftover_hits(checkout_after: Path, removed: Sequence[str]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    patterns = [(r, kind, rx) for r in removed for kind, rx in _path_patterns(r)]
    for rel in text_files(checkout_after):
        try:
            lines = read_lines(checkout_after, rel)
        except OSError:
            continue
        folder = str(Path(rel).parent) if str(Path(rel).parent) != "." else ""
        if _RUNS_AT_ROOT.match(rel):
            folder = ""  # CI runs these from the repository root
        for n, line in enumerate(lines, start=1):
            kinds = []
            for r, kind, rx in patterns:
                if kind != "path" and str(Path(r).parent if "/" in r else "") != folder:
                    continue
                if rx.search(line):
                    kinds.append((r, kind))
            if kinds:
                hits.append({"file": rel, "line": n, "removed": kinds[0][0],
                             "kinds": sorted({k for _, k in kinds}), "doc": is_doc(rel),
                             "text": scrub(line.strip()[:200])})
    return hits
