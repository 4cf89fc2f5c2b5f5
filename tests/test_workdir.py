"""The work dir's layout has one owner, and the dir is private to the user who runs the tool."""

from __future__ import annotations

import stat
from pathlib import Path

from migrator.journal import Journal
from migrator.workdir import WorkDir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_work_dir_sits_in_the_reports_directory() -> None:
    assert WorkDir.default(Path("out")) == WorkDir(Path("out/.work"))


def test_every_part_lives_under_the_root(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    assert work.clone("platform-orders") == tmp_path / "w" / "cache" / "platform-orders"
    assert work.clone("platform-orders").parent == work.cache
    for part in (work.cache, work.journal, work.review, work.logs):
        assert part.parent == work.root
    assert not work.root.exists(), "asking where things go creates nothing"


def test_a_new_work_dir_is_private_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "deep" / "w").create()
    assert _mode(work.root) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    WorkDir(shared).create()
    assert _mode(shared) == 0o755


def test_opening_the_journal_creates_the_private_work_dir(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    with Journal.open(work):
        pass
    assert work.journal.is_file() and _mode(work.root) == 0o700


def test_each_log_is_a_new_private_file_named_for_its_repo(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    first, second = work.new_log("orders"), work.new_log("orders")
    assert first != second
    for log in (first, second):
        assert log.parent == work.logs and log.name.startswith("orders-")
        assert log.suffix == ".log" and log.read_text() == ""
        assert _mode(log) == 0o600
    assert _mode(work.root) == _mode(work.logs) == 0o700


def test_a_kept_patch_is_a_private_file_in_a_private_folder(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    assert work.patch("orders") == work.root / "patches" / "orders.patch"
    assert work.load_patch("orders") is None
    path = work.save_patch("orders", "diff --git a/x b/x\r\n")
    assert path == work.patch("orders") and work.load_patch("orders") == "diff --git a/x b/x\r\n"
    assert _mode(path) == 0o600 and _mode(work.patches) == 0o700
    work.drop_patch("orders")
    work.drop_patch("orders")  # dropping what is not there is fine
    assert work.load_patch("orders") is None
    assert not list(work.patches.iterdir())


def test_keyed_hashes_are_stable_in_a_work_dir_and_differ_between_work_dirs(
        tmp_path: Path) -> None:
    one, other = WorkDir(tmp_path / "one"), WorkDir(tmp_path / "other")
    assert one.keyed_hash("x") == one.keyed_hash("x") != one.keyed_hash("y")
    assert one.keyed_hash("x") != other.keyed_hash("x")
    assert _mode(one.key) == 0o600 and len(one.key.read_bytes()) == 32
    assert WorkDir(tmp_path / "one").keyed_hash("x") == one.keyed_hash("x")  # a later run
    one.key.write_bytes(b"short")  # a broken key is replaced, never used
    assert len(one.key.read_bytes()) == 5 and len(one.keyed_hash("x")) == 64
    assert len(one.key.read_bytes()) == 32
