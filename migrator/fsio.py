"""Files replaced whole: a reader, or a run killed mid-write, never sees half a file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def umask() -> int:
    """The process's umask, read without changing it where Linux says it (setting it to read
    it back would race with other threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def plain_mode() -> int:
    """The mode `open` gives a new file (0644 under the usual umask): a temporary file made
    with `mkstemp` (0600) gets it before it replaces a published one."""
    return 0o666 & ~umask()


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (text as UTF-8, newlines as given) to `path`, creating its folder.

    The bytes go to a temporary file in the same folder (so the rename stays on one file
    system), reach the disk, then replace `path` in one rename. The file gets the mode a plain
    `open` gives (0644 under the usual umask), not the temporary file's 0600: reports are
    published, and every file of them has the same mode; what is private lives in the private
    work dir.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _holds(path, payload):
        return  # an unchanged re-plan rewrites thousands of reports: leave equal ones be
    with replacing(path) as handle:
        handle.write(payload)


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path`'s new content into, piece by piece: it replaces `path` (as
    `write_atomic` does) when the block ends, and is gone if the block fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), plain_mode())
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _holds(path: Path, payload: bytes) -> bool:
    """`path` is a plain file (not a link) with exactly these bytes and the published mode."""
    try:
        status = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(status.st_mode) or status.st_size != len(payload) \
            or stat.S_IMODE(status.st_mode) != plain_mode():
        return False
    try:
        return path.read_bytes() == payload
    except OSError:
        return False
