"""The work directory: what the tool keeps for itself between runs, and where each part lives.

    <work>/                 0700: clones may hold private code, logs may quote it
      cache/<slug>/         the clone of each repo (fetch)
      journal.sqlite        stage results and remote side effects (journal.py); no secret value
      hash.key              0600: the key of the keyed hashes the journal keeps instead of secrets
      patches/<slug>.patch  0600: a planned patch that carries secrets (reports show it redacted)
      review/<slug>/        merge requests as review bundles, when there is no GitLab (apply)
      logs/<slug>-*.log     tracebacks of internal errors, named in the repo's reason

It lives outside --out: unless --work or `[plan] work` names it, in the user's cache directory,
one per fleet (`WorkDir.default`), which `plan`, `apply` and `status` of that fleet all find.
This module is the only one that spells that layout; everything else asks a `WorkDir`. CI keeps
the work dir in `cache:`, never in `artifacts:`: nothing here is meant for people.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migrator.errors import ConfigError

CACHE_NAME = "migrator"  # the folder of the default work dirs in the user's cache directory
PATCHES = "patches"
_KEY_BYTES = 32
# What says a directory is a work dir (".migrator.lock": `lock.LOCK_FILE`, of a run killed early)
_OURS = ("journal.sqlite", "hash.key", "cache", "logs", "patches", "review", ".migrator.lock")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def cache_home(environ: Mapping[str, str] = os.environ) -> Path:
    """The user's cache directory: $XDG_CACHE_HOME when it is an absolute path (the XDG base
    directory rules ignore a relative one), else ~/.cache."""
    xdg = environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg)
    home = environ.get("HOME", "")
    if not os.path.isabs(home):
        raise ConfigError("no cache directory for the work dir (neither XDG_CACHE_HOME nor "
                          "HOME is set): give --work")
    return Path(home) / ".cache"


def private_patch(slug: str) -> str:
    """`WorkDir.patch` relative to the work dir, as reports name it."""
    return f"{PATCHES}/{slug}.patch"


@dataclass(frozen=True)
class WorkDir:
    root: Path

    @classmethod
    def default(cls, fleet: str, label: str = "fleet",
                environ: Mapping[str, str] = os.environ) -> WorkDir:
        """The work dir of a fleet when none is named: `<cache>/migrator/<label>-<hash>`, the
        hash of `fleet` (whatever identifies it: the GitLab group, the fleet's path, the
        shard), the label for a person looking in the cache directory."""
        digest = hashlib.sha256(fleet.encode("utf-8")).hexdigest()[:12]
        name = _UNSAFE.sub("-", label).strip(".-")[:40] or "fleet"
        return cls(cache_home(environ) / CACHE_NAME / f"{name}-{digest}")

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def clone(self, slug: str) -> Path:
        """Where the clone of the repo with this slug lives."""
        return self.cache / slug

    @property
    def journal(self) -> Path:
        return self.root / "journal.sqlite"

    @property
    def review(self) -> Path:
        return self.root / "review"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def key(self) -> Path:
        return self.root / "hash.key"

    def outputs(self, out: Path) -> Path:
        """What the last run wrote into the reports folder `out`: its key and each file's
        digest (pipeline/outputs.py)."""
        name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        return self.root / "outputs" / f"{name}.json"

    @property
    def spool(self) -> Path:
        """Where a plan run keeps each repo's report files until it writes them (spool.py)."""
        return self.root / "plan.spool"

    @property
    def patches(self) -> Path:
        return self.root / PATCHES

    def patch(self, slug: str) -> Path:
        """Where the full patch of the repo with this slug is kept when it carries secrets."""
        return self.root / private_patch(slug)

    def create(self) -> WorkDir:
        """Make the directory, private (0700): it holds every repo's files. An existing one
        that others may read is made private when it is empty or already a work dir (a CI
        cache restored with looser modes); any other is refused, not changed."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            mode = stat.S_IMODE(self.root.stat().st_mode)
        except FileExistsError as exc:
            raise ConfigError(f"work dir {self.root} is a file, not a directory") from exc
        except OSError as exc:
            raise ConfigError(f"work dir {self.root}: {exc.strerror or exc}") from exc
        if not self.root.is_dir():
            raise ConfigError(f"work dir {self.root} is not a directory")
        if mode & 0o077:
            self._make_private(mode)
        return self

    def _make_private(self, mode: int) -> None:
        ours = not any(self.root.iterdir()) or any((self.root / n).exists() for n in _OURS)
        if not ours:
            raise ConfigError(f"work dir {self.root} may be read by others (mode {mode:o}) and "
                              "is not one migrator made: make it private (chmod 700) or name "
                              "another (--work)")
        try:
            self.root.chmod(0o700)
        except OSError as exc:
            raise ConfigError(f"work dir {self.root} may be read by others (mode {mode:o}) and "
                              f"cannot be made private: {exc.strerror or exc}") from exc

    def new_log(self, slug: str) -> Path:
        """A new empty file (0600) under logs/ for one traceback of the repo with this slug.

        Never an existing file: two errors of one repo in the same second get two logs.
        """
        self.create()
        self.logs.mkdir(mode=0o700, exist_ok=True)
        # A counter, not mkstemp's random letters: the name is quoted in reasons, and a random
        # tail is what the redactor's high-entropy rule hides ("/<redacted>.log").
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for n in itertools.count(1):
            path = self.logs / f"{slug}-{stamp}-{n}.log"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            return path
        raise AssertionError("unreachable")

    def save_patch(self, slug: str, patch: str) -> Path:
        """Keep a patch that carries secrets as a private file (0600, replaced atomically)."""
        self.create()
        self.patches.mkdir(mode=0o700, exist_ok=True)
        target = self.patch(slug)
        fd, name = tempfile.mkstemp(prefix=f".{slug}-", suffix=".tmp", dir=self.patches)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(patch)
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return target

    def load_patch(self, slug: str) -> str | None:
        try:  # bytes as written: a patch of a CRLF file keeps its CRs
            return self.patch(slug).read_bytes().decode("utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return None

    def drop_patch(self, slug: str) -> None:
        """Forget a kept patch: a plan whose patch carries no secret (any more) needs none."""
        self.patch(slug).unlink(missing_ok=True)

    def keyed_hash(self, text: str) -> str:
        """HMAC-SHA256 of `text` under this work dir's own key.

        Equal texts give equal hashes, so a stored hash can decide equality, and without the
        key (which never leaves the work dir) the hash is no oracle for guessing the text.
        """
        return hmac.new(self._key(), text.encode("utf-8"), hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        try:
            key = self.key.read_bytes()
        except FileNotFoundError:
            key = b""
        if len(key) == _KEY_BYTES:
            return key
        self.create()
        # Written aside, then linked: a reader never sees a half-written key, and of two runs
        # creating it at once, one key wins and both use it.
        fd, name = tempfile.mkstemp(prefix=".hash-", suffix=".tmp", dir=self.root)
        try:
            os.write(fd, secrets.token_bytes(_KEY_BYTES))
            os.close(fd)
            try:
                os.link(name, self.key)
            except FileExistsError:
                if len(self.key.read_bytes()) != _KEY_BYTES:  # a broken key: replace it
                    os.replace(name, self.key)
        finally:
            Path(name).unlink(missing_ok=True)
        return self.key.read_bytes()
