"""Where a repo's git submodules would be checked out.

Submodules are never fetched (their URLs are the repo's to choose, `ext::` among them), so a
chart inside one is not in the clone. Naming those paths keeps "no embedded chart" honest for a
GitOps repo whose charts all live in submodules.
"""

from __future__ import annotations

import re
from pathlib import Path

_PATH = re.compile(r"^\s*path\s*=\s*(?P<path>.+?)\s*$", re.MULTILINE)
_MAX_BYTES = 1 << 20


def submodule_paths(root: Path) -> tuple[str, ...]:
    """The `path =` entries of `.gitmodules`, in file order; none when it is absent or odd."""
    gitmodules = root / ".gitmodules"
    try:
        if gitmodules.is_symlink() or not gitmodules.is_file() \
                or gitmodules.stat().st_size > _MAX_BYTES:
            return ()
        text = gitmodules.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    paths = (m.group("path").strip('"') for m in _PATH.finditer(text))
    return tuple(dict.fromkeys(p for p in paths if p))
