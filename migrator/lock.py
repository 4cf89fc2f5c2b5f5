"""One run at a time in a directory: an advisory lock (`flock`) on a file in it.

Two runs in one work dir would fetch into the same clones and interleave their journals; two runs
writing one --out would mix their repos' reports, and the last to finish would win fleet.json.
So a run takes the work dir's lock and the --out's lock before it starts (always in that order),
and holds them until it ends. A second run waits a little (`LOCK_WAIT`), then stops with one line
naming the holder, which the holder writes into the lock file: pid, host, command, since when.

The lock is the kernel's: a holder that dies (kill -9 included) lets go of it at once, and the
next run takes it over. The lock file is removed by the run that holds it when it lets go, so a
finished run leaves nothing in --out but reports; a run that finds the file it locked already
removed starts again on a new one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migrator.errors import ConfigError

LOCK_FILE = ".migrator.lock"
LOCK_WAIT = 10.0  # seconds a second run waits before it gives up
_POLL = 0.1


class Busy(ConfigError):
    """Another run holds the directory (exit status 2, as for any usage error)."""


@contextmanager
def hold(directory: Path, what: str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold `directory`'s lock (creating the directory) while the block runs. `what` names the
    directory to a person (`--out plan-out`). Raises Busy when another run holds it past
    `wait` seconds, ConfigError when the directory cannot be made or written."""
    path = usable_dir(directory, what) / LOCK_FILE
    fd = _acquire(path, what, time.monotonic() + wait)
    try:
        _describe_holder(fd)
        yield
    finally:
        # Removed while still held: a run waiting on this file finds it gone and starts over.
        path.unlink(missing_ok=True)
        os.close(fd)


def usable_dir(directory: Path, what: str) -> Path:
    """`directory`, created when missing; ConfigError (one line) when it is a file or cannot be
    written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ConfigError(f"{what}: {directory} is a file, not a directory") from exc
    except OSError as exc:
        raise ConfigError(f"{what}: cannot create {directory}: {_why(exc)}") from exc
    if not directory.is_dir():
        raise ConfigError(f"{what}: {directory} is not a directory")
    return directory


def _acquire(path: Path, what: str, deadline: float) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(f"{what}: cannot write in {path.parent}: {_why(exc)}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise Busy(f"{what}: another migrator run is using {path.parent} ({holder}); "
                           "wait for it to end, or use another directory") from None
            time.sleep(_POLL)
            continue
        if _still_there(fd, path):
            return fd
        os.close(fd)  # its holder removed it as it let go: lock the new one


def _still_there(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _describe_holder(fd: int) -> None:
    """Who holds the lock, for a run that finds it taken. Best effort: on a full disk the lock
    still holds, only its description is missing."""
    holder = {"pid": os.getpid(), "host": socket.gethostname(),
              "command": shlex.join(["migrator", *sys.argv[1:]])[:300],
              "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data = json.dumps(holder).encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError:
        pass


def _read_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return (f"pid {int(data['pid'])} on {data['host']}, `{data['command']}`, "
                f"since {data['since']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "it did not say who it is"


def _why(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or str(exc)
