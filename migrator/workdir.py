"""The work directory: what the tool keeps for itself between runs, and where each part lives.

    <work>/                 0700: clones may hold private code, logs may quote it
      cache/<slug>/         the clone of each repo (fetch)
      journal.sqlite        stage results and remote side effects (journal.py)
      review/<slug>/        merge requests as review bundles, when there is no GitLab (apply)
      logs/<slug>-*.log     tracebacks of internal errors, named in the repo's reason

This module is the only one that spells that layout; everything else asks a `WorkDir`. CI keeps
the work dir in `cache:`, never in `artifacts:`: nothing here is meant for people.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Where the work dir goes when neither --work nor [plan] work says: inside --out, as it always
# has. One place to change when it moves to a user cache directory.
DEFAULT_NAME = ".work"


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
