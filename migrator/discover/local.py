"""Discover a fleet on disk: a directory of git repos, or a text file listing repo paths/URLs.

A list file holds one repo per line: a local path (relative to the file's directory) or a clone
URL; blank lines and lines starting with `#` are ignored. URLs must not carry credentials: the
token reaches git through the environment (see migrator/credentials.py), never through a URL.
A line git could mistake for an option or a command (`-...`, `ext::...`) stays in the fleet as
that line, unavailable, with the reason: fetch reports it and never hands it to git.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from migrator import git
from migrator.errors import ConfigError, GitError
from migrator.model import RepoRef

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*@", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$")


@dataclass(frozen=True)
class LocalFleetSettings:
    path: Path  # a directory of git repos, or a list file
    include: tuple[str, ...] = ()  # fnmatch patterns on the repo name; empty keeps all
    exclude: tuple[str, ...] = ()


def list_repos(settings: LocalFleetSettings) -> list[RepoRef]:
    """The fleet under `settings.path`, sorted by name, filtered by include/exclude."""
    root = settings.path
    if root.is_dir():
        found = _from_directory(root)
    elif root.is_file():
        found = _from_list_file(root)
    else:
        raise ConfigError(f"fleet {root}: no such directory or list file")
    kept = [item for item in found if matches(item[0], settings.include, settings.exclude)]
    kept.sort(key=lambda item: item[0])
    slugs = unique_slugs([name for name, _, _, _ in kept])
    return [RepoRef(name=name, slug=slug, url=url, default_branch=branch, unavailable=why)
            for (name, url, branch, why), slug in zip(kept, slugs, strict=True)]


def matches(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Kept when it matches an include pattern (or there are none) and no exclude pattern."""
    if include and not any(fnmatch.fnmatchcase(name, pat) for pat in include):
        return False
    return not any(fnmatch.fnmatchcase(name, pat) for pat in exclude)


def slugify(name: str) -> str:
    """Readable and filesystem-safe: `group/sub/orders` -> `group__sub__orders`."""
    slug = _UNSAFE.sub("-", name.strip("/").replace("/", "__")).strip(".-") or "repo"
    return slug[:120]


def unique_slugs(names: Iterable[str]) -> list[str]:
    """`slugify` of each name; names whose slugs collide get a short hash of the full name, so
    every slug stays unique and stable for a given name."""
    names = list(names)
    plain = [slugify(n) for n in names]
    seen: dict[str, int] = {}
    for slug in plain:
        seen[slug] = seen.get(slug, 0) + 1
    return [slug if seen[slug] == 1 else
            f"{slug[:110]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
            for name, slug in zip(names, plain, strict=True)]


# name, clone URL or path, branch, why it is unavailable
_Found = tuple[str, str, str | None, str | None]


def _from_directory(root: Path) -> list[_Found]:
    """The git repos in `root`; `root` itself when it is one (`--fleet .` in a clone, as the
    merge request's "Reproduce locally" runs it), named by its directory, not `.git`."""
    out: list[_Found] = []
    for child in sorted(root.iterdir()):
        if child.name != ".git" and child.is_dir() and git.is_repo(child):
            out.append((child.name, str(child.resolve()), _current_branch(child), None))
    if not out and (root / ".git").exists():
        here = root.resolve()
        out.append((here.name, str(here), _current_branch(root), None))
    return out


def _from_list_file(path: Path) -> list[_Found]:
    out: list[_Found] = []
    seen: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if _USERINFO.match(line):
            # Never echo the line: it holds the credential.
            raise ConfigError(f"{where}: the URL carries credentials; remove them and give the "
                              "token through the environment (GITLAB_TOKEN)")
        unsafe = git.unsafe_url(line)
        if unsafe is not None:
            # Named by its place, not its text: the text is what must not act anywhere.
            out.append((f"{path.name}:{number}", line, None, f"{where}: {unsafe}"))
            continue
        if "://" in line or _SCP_LIKE.match(line):
            name, url, branch = _url_name(line), line, None
        else:
            repo = (path.parent / line).resolve()
            if not git.is_repo(repo):
                raise ConfigError(f"{where}: {line} is not a git repository")
            # A relative path names the repo as written; an absolute one by its directory name.
            written = line.rstrip("/").removesuffix(".git")
            name = repo.name.removesuffix(".git") if Path(line).is_absolute() else written
            url, branch = str(repo), _current_branch(repo)
        if url in seen:
            continue
        seen.add(url)
        if any(name == other for other, _, _, _ in out):
            name = url  # same path on two hosts: the full URL tells them apart
        out.append((name, url, branch, None))
    return out


def _url_name(url: str) -> str:
    scp = _SCP_LIKE.match(url)
    path = scp.group("path") if scp and "://" not in url else urlsplit(url).path
    return path.strip("/").removesuffix(".git") or url


def _current_branch(repo: Path) -> str | None:
    head = git.read_head(repo)  # from its files: no git process per repo when it can
    if head is not None:
        return head.branch
    try:
        return git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=repo).strip() or None
    except GitError:
        return None
