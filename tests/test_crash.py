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
