"""An internal error's log holds its traceback, never a secret from the message."""

from __future__ import annotations

from pathlib import Path

from migrator.model import Kind
from migrator.pipeline import crash
from migrator.workdir import WorkDir

PEM = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
       "AAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIK\n-----END OPENSSH PRIVATE KEY-----")


def test_a_secret_spanning_lines_in_an_error_message_is_scrubbed_from_the_log(
        tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    try:
        raise ValueError(f"cannot read key:\n{PEM}\nand token glpat-Xq3vR8tY2uW5zA1bC4dE")
    except ValueError as exc:
        outcome = crash.record(work, "orders", "orders", exc)
    assert outcome.kind is Kind.INTERNAL and outcome.log is not None
    log = Path(outcome.log).read_text()
    assert "Traceback (most recent call last)" in log and "cannot read key:" in log
    for secret in ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "AAAAAAAAAAEAAAAz",
                   "glpat-Xq3vR8tY2uW5zA1bC4dE"):
        assert secret not in log and secret not in outcome.detail


def test_the_log_named_in_the_reason_survives_redaction(tmp_path: Path) -> None:
    # The reason is redacted as a whole before it reaches a report; a random file-name tail
    # used to read as a high-entropy secret and became "/<redacted>.log".
    from migrator.redact import scrub_text
    from migrator.report.reasons import describe

    work = WorkDir(tmp_path / "w")
    try:
        raise KeyError("image")
    except KeyError as exc:
        outcome = crash.record(work, "orders", "orders", exc)
    assert outcome.log is not None
    reason = scrub_text(describe(outcome))
    assert outcome.log in reason and "<redacted>" not in reason
