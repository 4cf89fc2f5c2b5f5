"""write_atomic: a file is replaced whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator.fsio import write_atomic


def test_text_is_written_as_utf8_with_its_newlines_and_bytes_as_given(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.md", "é\r\nline\n")
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.md").read_bytes() == "é\r\nline\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_an_existing_file_is_replaced_and_missing_folders_are_made(tmp_path: Path) -> None:
    target = tmp_path / "repos" / "orders" / "report.md"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "fleet.json"
    write_atomic(target, "{}\n")

    def no_disk(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", no_disk)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, '{"half": ')
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.json"]


def test_a_file_that_already_holds_the_bytes_is_left_alone(tmp_path: Path) -> None:
    # An unchanged re-plan writes every report again: equal files keep their inode (no
    # temporary file, no fsync), a changed one is replaced.
    target = tmp_path / "report.md"
    write_atomic(target, "same\n")
    before = target.stat()
    write_atomic(target, "same\n")
    assert target.stat().st_ino == before.st_ino
    write_atomic(target, "changed\n")
    assert target.stat().st_ino != before.st_ino and target.read_text() == "changed\n"


def test_equal_bytes_behind_a_symlink_or_another_mode_are_still_replaced(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("same\n")
    link = tmp_path / "report.md"
    link.symlink_to(elsewhere)
    write_atomic(link, "same\n")
    assert not link.is_symlink() and link.read_text() == "same\n"

    private = tmp_path / "private.md"
    private.write_text("same\n")
    private.chmod(0o600)
    write_atomic(private, "same\n")
    assert private.stat().st_mode & 0o777 != 0o600
