"""The files of a repository worth scanning for deploy references, in a stable order."""

from __future__ import annotations

import os
from pathlib import Path

from migrator.errors import RepoError

# `build/` is not among them: teams keep deploy scripts there (`build/demo/deploy.sh`)
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "vendor", "__pycache__", ".terraform",
              ".tox", "dist"}  # fmt: skip
MAX_BYTES = 1_000_000  # deploy files are small; anything bigger is data, not configuration


def repo_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of regular files, skipping VCS and dependency directories.

    A symlink is listed only when it leaves the repository (so that a deploy file pointing out
    can be named as unreadable); one that stays inside is read where it points."""
    out: list[str] = []
    resolved_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink():
                if path.resolve().is_relative_to(resolved_root):
                    continue
            elif not path.is_file():
                continue
            out.append(path.relative_to(root).as_posix())
    return sorted(out)


def inside(root: Path, rel: str) -> Path:
    """`root/rel`, refused when it leaves the repository (a symlink, `..`) or is too big."""
    path = root / rel
    if not path.resolve().is_relative_to(root.resolve()):
        what = "symlink points" if path.is_symlink() else "path leads"
        raise RepoError(f"{what} outside the repository", file=rel)
    if path.is_file() and path.stat().st_size > MAX_BYTES:
        raise RepoError(f"file is {path.stat().st_size} bytes, over the {MAX_BYTES} limit for "
                        "a deploy file", file=rel)
    return path


def read_script(root: Path, rel: str) -> str:
    """A deploy script's text (shell, Makefile, Jenkinsfile, Python): undecodable bytes replaced,
    since a stray byte in a comment does not stop the shell either."""
    path = inside(root, rel)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RepoError(f"cannot read: {exc.strerror or exc}", file=rel) from exc
    if b"\x00" in data:
        raise RepoError("not a text file (binary?)", file=rel)
    return data.decode("utf-8", errors="replace")


def head(root: Path, rel: str, size: int = 200) -> str:
    """The first line of a file (for a shebang), "" when it cannot be read."""
    try:
        with (root / rel).open("rb") as handle:
            return handle.readline(size).decode("utf-8", errors="replace")
    except OSError:
        return ""
