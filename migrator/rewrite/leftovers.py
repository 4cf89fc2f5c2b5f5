"""What still names a chart once its change set is made: nothing still used is deleted.

After the deploys are rewritten, every text file of the repository is read as the change set
leaves it, looking for the paths the change set removes (the chart's folder, the values files it
deployed with): spelled from the repository root, from the file's own folder, or from a folder the
file changes into (`cd`, `dir('...')`, `working-directory:`), and the chart's folder name in the
places that take a directory (`cd X`, `path: X`, `chart: X`, `chartPath: X` ...). A remaining use,
or a deploy the rewrite left for a person, keeps the chart and its files in place. Documentation,
comments and lists of paths that only describe (ignore files, CODEOWNERS) do not use anything:
they are told to the reviewer instead.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from migrator.model import HelmInvocation, Kind, Notice, NoticeKind, Outcome

MAX_BYTES = 1_000_000  # bigger files are data, not something that deploys
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".terraform", ".tox",
              "vendor"}  # fmt: skip
_DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
_DOC_NAMES = ("readme", "changelog", "contributing", "license", "notice", "authors")
_DOC_DIRS = {"docs", "doc"}
_PATH_LISTS = {"codeowners", ".gitattributes"}  # name paths, use none of them
# CI files run from the repository root, wherever they sit
_RUNS_AT_ROOT = re.compile(r"^(?:\.github/workflows/|\.circleci/|\.gitlab-ci|\.gitlab/|"
                           r"Jenkinsfile|azure-pipelines|bitbucket-pipelines|\.drone|"
                           r"cloudbuild|\.travis)")
_COMMENT = re.compile(r"^\s*(?:#|//|--|;|/\*|\*|<!--|rem\s)", re.IGNORECASE)

# Where a file changes into a folder: later relative paths are read from there.
_INTO = [re.compile(p, re.MULTILINE) for p in (
    r"\b(?:cd|pushd)\s+[\"']?([^\s\"';&|)]+)",
    r"\bdir\s*\(\s*[\"']([^\"']+)[\"']",
    r"^\s*(?:-\s+)?dir:\s*[\"']?([^\s\"'#]+)",
    r"working[-_]directory:\s*[\"']?([^\s\"'#]+)",
    r"\bchdir\s*\(\s*[\"']([^\"']+)[\"']",
    r"\bcwd\s*=\s*[\"']([^\"']+)[\"']",
    r"(?<![\w-])-C\s+[\"']?([^\s\"';&|)]+)",
)]
# Places that take a directory: a bare folder name there means that folder.
_DIR_KEYS = (r"(?:\b(?:cd|pushd|dir|chdir|cwd|path|chart|chartPath|chart_path|chartDir|"
             r"chart_dir|charts_dir)|working[-_]directory|--chart(?:-path|-dir)?|(?<![\w-])-C)")
# Before a path: the start of a word, `file://`, or a folder variable (`$here/`, `${DIR}/`,
# `$(dirname "$0")/`, `$CI_PROJECT_DIR/`).
_FOLDER_VAR = r"(?:\$\{?\w+\}?|\$\([^()\n]*\))[\"']?/"
_BEFORE = rf"(?:(?<![\w.\-/$@~%{{}}])|file://|{_FOLDER_VAR})"
_AFTER = r"(?![\w.\-])"


@dataclass(frozen=True)
class Mention:
    """A line that still names a removed path, or a deploy the rewrite left for a person."""

    file: str
    line: int
    removed: str  # the removed path it names (the chart's folder, a values file)
    why: str = ""  # for a deploy left for a person: why it was left

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Leftovers:
    uses: tuple[Mention, ...]  # keep the chart: something still uses what would be removed
    mentions: tuple[Mention, ...]  # documentation, comments, ignore lists: to update

    def outcome(self) -> Outcome | None:
        """`still-used`, naming each use, or None when nothing uses what is removed."""
        if not self.uses:
            return None
        named = sorted({_shown(m.removed) for m in self.uses if not m.why})
        parts = [f"names {', '.join(named)}"] if named else []
        parts += sorted({f"a deploy left for a person: {m.why}" for m in self.uses if m.why})
        return Outcome(Kind.STILL_USED, detail="; ".join(parts),
                       files=tuple(m.where for m in self.uses), count=len(self.uses))

    def notices(self) -> tuple[Notice, ...]:
        """What a reviewer should update with the change (only when the change removes it)."""
        if self.uses:
            return ()
        return tuple(Notice(NoticeKind.STILL_NAMED,
                            f"still names {_shown(m.removed)}: update it with the change",
                            file=m.file, line=m.line) for m in self.mentions)


def _shown(path: str) -> str:
    return path if "." in posixpath.basename(path) else f"{path}/"


def keep_in_place(writes: Mapping[str, bytes | None]) -> dict[str, bytes | None]:
    """The change set without its deletions: what is still used stays."""
    return {rel: content for rel, content in writes.items() if content is not None}


def find_leftovers(root: Path, writes: Mapping[str, bytes | None],
                   left: Sequence[tuple[HelmInvocation, str]] = (),
                   chart_path: str = "") -> Leftovers:
    """Scan the repository at `root` as `writes` leave it (repo-relative path -> new bytes, None
    to delete a file or a folder) for what still names a path the writes remove. `left`: the
    deploys the rewrite left for a person (each is a use of `chart_path`)."""
    before = _walk(root)
    after = _after(before, writes)
    removed = removed_paths(before, set(after), [r for r, c in writes.items() if c is None])
    uses: dict[tuple[str, int], Mention] = {}
    mentions: dict[tuple[str, int], Mention] = {}
    for ref, why in left:
        uses.setdefault((ref.file, ref.line), Mention(ref.file, ref.line, chart_path, why))
    if removed:
        for rel in sorted(after):
            text = _text(root, rel, after[rel], writes)
            if text is None:
                continue
            describes = _describes(rel)
            for line, path, comment in _named(rel, text, removed):
                key = (rel, line)
                if describes or comment:
                    mentions.setdefault(key, Mention(rel, line, path))
                else:
                    uses.setdefault(key, Mention(rel, line, path))
    for key in uses:
        mentions.pop(key, None)
    return Leftovers(tuple(uses[k] for k in sorted(uses)),
                     tuple(mentions[k] for k in sorted(mentions)))


def removed_paths(before: Iterable[str], after: set[str], deleted: Iterable[str]
                  ) -> tuple[str, ...]:
    """The topmost paths that no longer exist: a deleted folder with nothing left in it, or
    each file (or emptied sub-folder) of a folder that keeps some files."""
    kept_dirs = {posixpath.dirname(f) for f in after}
    for d in list(kept_dirs):
        while d:
            d = posixpath.dirname(d)
            kept_dirs.add(d)
    out: set[str] = set()
    files = list(before)
    for gone in deleted:
        gone = _norm(gone)
        for f in files:
            if f in after or not _under(f, gone):
                continue
            parts = f.split("/")
            top = f
            for i in range(gone.count("/") + 1 if gone else 1, len(parts)):
                folder = "/".join(parts[:i])
                if folder not in kept_dirs:
                    top = folder
                    break
            out.add(top)
    return tuple(sorted(p for p in out
                        if not any(p.startswith(q + "/") for q in out if q != p)))


def _walk(root: Path) -> dict[str, int]:
    """Repo-relative file -> size, every regular file outside VCS and dependency folders."""
    out: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            out[path.relative_to(root).as_posix()] = path.stat().st_size
    return out


def _after(before: Mapping[str, int], writes: Mapping[str, bytes | None]) -> dict[str, int]:
    after = dict(before)
    for rel, content in writes.items():
        if content is None:
            gone = _norm(rel)
            for f in [f for f in after if _under(f, gone)]:
                del after[f]
    for rel, content in writes.items():
        if content is not None:
            after[rel] = len(content)
    return after


def _norm(rel: str) -> str:
    """A repo-relative path, "" for the repository itself."""
    path = posixpath.normpath(rel).strip("/")
    return "" if path == "." else path


def _under(rel: str, folder: str) -> bool:
    return not folder or rel == folder or rel.startswith(folder + "/")


def _text(root: Path, rel: str, size: int, writes: Mapping[str, bytes | None]) -> str | None:
    if size > MAX_BYTES:
        return None
    data = writes.get(rel)
    if data is None:
        try:
            data = (root / rel).read_bytes()
        except OSError:
            return None
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def _describes(rel: str) -> bool:
    """Files that describe or list paths without using them."""
    name = posixpath.basename(rel).lower()
    if name.endswith(_DOC_SUFFIXES) or name.startswith(_DOC_NAMES):
        return True
    if _DOC_DIRS & set(rel.lower().split("/")[:-1]):
        return True
    return name in _PATH_LISTS or (name.startswith(".") and name.endswith("ignore"))


def _named(rel: str, text: str, removed: Sequence[str]) -> list[tuple[int, str, bool]]:
    """(line, removed path, on a comment line) for each line of `rel` naming a removed path."""
    candidates = [r for r in removed if posixpath.basename(r) in text]
    if not candidates:
        return []
    patterns = [(r, posixpath.basename(r), _pattern(r, _spellings(rel, text, r)))
                for r in candidates]
    out: list[tuple[int, str, bool]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        for path, name, rx in patterns:
            if name in line and rx is not None and rx.search(line):
                out.append((number, path, bool(_COMMENT.match(line))))
                break
    return out


def _spellings(rel: str, text: str, path: str) -> set[str]:
    """How `rel` may spell `path`: from the root, from its own folder, from a folder it
    changes into."""
    folder = posixpath.dirname(rel)
    bases = {"", folder}
    # only a folder holding `path` matters: its line names one of path's folders, or goes up
    hints = [*posixpath.dirname(path).split("/"), ".."] if "/" in path else []
    for line in (x for x in text.split("\n") if any(h and h in x for h in hints)):
        for rx in _INTO:
            for m in rx.finditer(line):
                value = m.group(1).strip("\"'")
                if not value or any(c in value for c in "$`{%"):
                    continue
                bases.add(posixpath.normpath(posixpath.join(folder, value)).lstrip("/"))
                if _RUNS_AT_ROOT.match(rel) or not folder:
                    bases.add(posixpath.normpath(value).lstrip("/"))
    out = set()
    for base in bases:
        base = "" if base in (".", "") else base
        spelled = posixpath.relpath(path, base or ".")
        if spelled not in (".", "..") and not spelled.endswith("/.."):
            out.add(spelled)
    return out


def _pattern(path: str, spellings: Iterable[str]) -> re.Pattern[str] | None:
    alternatives: list[str] = []
    for s in sorted(spellings, key=len, reverse=True):
        if s.startswith("../") or "/" in s or "." in s:
            alternatives.append(_BEFORE + r"(?:\./)?" + re.escape(s) + _AFTER)
        else:
            # a bare folder name: inside a path, after `./`, or where a directory goes
            name = re.escape(s)
            alternatives.append(_BEFORE + r"(?:\./)?" + name + r"/(?![\w.\-/]*@)")
            alternatives.append(_BEFORE + r"\./" + name + _AFTER)
            alternatives.append(_FOLDER_VAR + name + _AFTER)
            alternatives.append(_DIR_KEYS + r"\s*[:=(]?\s*[\"']?(?:\./)?" + name
                                + r"/?[\"']?(?![\w.\-/])")
    if not alternatives:
        return None
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


__all__ = ["Leftovers", "Mention", "find_leftovers", "keep_in_place", "removed_paths"]
