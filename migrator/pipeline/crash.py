"""An internal error is a bug: keep its traceback where a person can send it, as pre-commit's
error handler does, and name that file in the reason. Secrets are scrubbed before anything is
written; the log lives in the work dir, never under --out."""

from __future__ import annotations

import platform
import traceback
from datetime import UTC, datetime

from migrator import __version__
from migrator.model import Kind, Outcome
from migrator.redact import scrub_text
from migrator.workdir import WorkDir

ISSUES_URL = "the migrator project's issue tracker"


def record(work: WorkDir, slug: str, subject: str, exc: BaseException) -> Outcome:
    """Write the traceback of `exc`, met while planning `subject` (a repo, maybe one of its
    charts), to a new log in the work dir; the outcome names the file."""
    path = work.new_log(slug)
    text = "\n".join([
        f"migrator {__version__} internal error while planning {subject}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"when: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"report it to {ISSUES_URL} with this file (secrets are already scrubbed)",
        "",
        # Scrubbed whole, not line by line: a PEM block in a message spans lines.
        scrub_text("".join(traceback.format_exception(exc))).rstrip("\n"),
        "",
    ])
    path.write_text(text, encoding="utf-8")
    return Outcome(Kind.INTERNAL, detail=f"{type(exc).__name__}: {scrub_text(str(exc))}",
                   log=str(path))
