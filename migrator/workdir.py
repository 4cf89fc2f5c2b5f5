"""The work directory: what the tool keeps for itself between runs, and where each part lives.

    <work>/                 0700: clones may hold private code, logs may quote it
      cache/<slug>/         the clone of each repo (fetch)
      journal.sqlite        stage results and remote side effects (journal.py); no secret value
      hash.key              0600: the key of the keyed hashes the journal keeps instead of secrets
      patches/<slug>.patch  0600: a planned patch that carries secrets (reports show it redacted)
      review/<slug>/        merge requests as review bundles, when there is no GitLab (apply)
      logs/<slug>-*.log     tracebacks of internal errors, named in the repo's reason

This module is the only one that spells that layout; everything else asks a `WorkDir`. CI keeps
the work dir in `cache:`, never in `artifacts:`: nothing here is meant for people.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Where the work dir goes when neither --work nor [plan] work says: inside --out, as it always
# has. One place to change when it moves to a user cache directory.
DEFAULT_NAME = ".work"
PATCHES = "patches"
_KEY_BYTES = 32


def private_patch(slug: str) -> str:
    """`WorkDir.patch` relative to the work dir, as reports name it."""
    return f"{PATCHES}/{slug}.patch"


@dataclass(frozen=True)
class WorkDir:
    root: Path

    @classmethod
    def default(cls, out: Path) -> WorkDir:
        """The work dir of a run that writes its reports to `out` and names no other."""
        return cls(out / DEFAULT_NAME)

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

    @property
    def patches(self) -> Path:
        return self.root / PATCHES

    def patch(self, slug: str) -> Path:
        """Where the full patch of the repo with this slug is kept when it carries secrets."""
        return self.root / private_patch(slug)

    def create(self) -> WorkDir:
        """Make the directory (0700 when this creates it; an existing one keeps its mode)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def new_log(self, slug: str) -> Path:
        """A new empty file (0600) under logs/ for one traceback of the repo with this slug.

        Never an existing file: two errors of one repo in the same second get two logs.
        """
        self.create()
        self.logs.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        fd, name = tempfile.mkstemp(prefix=f"{slug}-{stamp}-", suffix=".log", dir=self.logs)
        os.close(fd)
        return Path(name)

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
