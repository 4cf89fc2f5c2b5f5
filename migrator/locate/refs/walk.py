"""The files of a repository worth scanning for deploy references, in a stable order."""

from __future__ import annotations

import os
from pathlib import Path

from migrator.errors import RepoError

_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "vendor", "__pycache__", ".terraform",
              ".tox", "dist", "build"}  # fmt: skip
_MAX_BYTES = 1_000_000  # deploy files are small; anything bigger is data, not configuration


def repo_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of regular files, skipping VCS and dependency directories."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > _MAX_BYTES:
                continue
            out.append(path.relative_to(root).as_posix())
    return sorted(out)


def inside(root: Path, rel: str) -> Path:
    """`root/rel`, refused when it leaves the repository (a symlink, `..`) or is too big."""
    path = root / rel
    if not path.resolve().is_relative_to(root.resolve()):
        what = "symlink points" if path.is_symlink() else "path leads"
        raise RepoError(f"{rel}: {what} outside the repository")
    if path.is_file() and path.stat().st_size > _MAX_BYTES:
        raise RepoError(f"{rel}: file is {path.stat().st_size} bytes, over the "
                        f"{_MAX_BYTES} limit for a deploy file")
    return path
