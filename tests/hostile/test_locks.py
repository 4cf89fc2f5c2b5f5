"""One run at a time in a work dir and in an --out, and an --out that cannot take the reports ends
in one line, leaving the last good reports.

Runs are real processes; the full disk and the read-only directory are real file systems (a
small tmpfs, mounted when the tests may mount, as root in CI; skipped otherwise).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import demo, lock
from tests.hostile.smallfleet import fleet_json, fork_repo, migrator, plan_args

HOLD = """
import sys, time
from pathlib import Path
from migrator import lock
with lock.hold(Path(sys.argv[1]), "--out"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(directory: Path, seconds: float = 60) -> subprocess.Popen[str]:
    """Another process holding `directory`'s lock, once this returns."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


def test_a_second_holder_waits_then_names_the_first(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(lock.Busy) as busy, lock.hold(tmp_path, "--out", wait=0.5):
            pass
        assert 0.5 <= time.monotonic() - started < 5
        message = str(busy.value)
        assert f"pid {holder.pid} on " in message and f"`migrator {tmp_path} 60`" in message
        assert message.startswith(f"--out: another migrator run is using {tmp_path} (")
        assert " since 20" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_killed_lets_go_at_once_and_a_finished_one_leaves_no_lock_file(
        tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / lock.LOCK_FILE).exists(), "kill -9 left its file ..."
    with lock.hold(tmp_path, "--out", wait=0):  # ... but not its lock
        assert json.loads((tmp_path / lock.LOCK_FILE).read_text())["pid"] == os.getpid()
    assert list(tmp_path.iterdir()) == []


def test_a_waiting_run_gets_the_lock_when_the_holder_ends(tmp_path: Path) -> None:
    holder = _holder(tmp_path, seconds=1)
    try:
        with lock.hold(tmp_path, "--out", wait=30):
            assert holder.wait(timeout=5) == 0
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lock-fleet") / "fleet"
    fork_repo(root / "orders", "orders")
    return root


def test_two_plans_on_one_out_one_waits_or_refuses_and_fleet_json_stays_whole(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = [subprocess.Popen(
        [sys.executable, "-m", "migrator", *map(str, plan_args(fleet, central_sources, out)),
         "--work", tmp_path / f"work-{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i in (1, 2)]
    ends = [(run.wait(timeout=300), run.stderr.read() if run.stderr else "") for run in runs]
    assert [code for code, _ in ends].count(0) >= 1, ends
    for code, stderr in ends:
        # the second waited and planned after the first, or gave up waiting, saying why
        assert code == 0 or (code == 2 and "another migrator run is using" in stderr), ends
        assert "Traceback" not in stderr and "OSError" not in stderr
    assert [r["name"] for r in fleet_json(out)["repos"]] == ["orders"]
    assert not (out / lock.LOCK_FILE).exists()


def test_a_plan_refused_by_a_held_out_says_who_holds_it(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = _holder(out)
    try:
        refused = migrator(*plan_args(fleet, central_sources, out), "--work", tmp_path / "w")
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 2
    assert f"pid {holder.pid}" in _one_line_error(refused)
    assert not (out / "fleet.json").exists()


def test_report_merge_waits_for_the_run_writing_its_out_too(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    shard = tmp_path / "shard-1"
    planned = migrator(*plan_args(fleet, central_sources, shard), "--work", tmp_path / "w")
    assert planned.returncode == 0, planned.stderr
    holder = _holder(tmp_path / "merged")
    try:
        refused = migrator("report", "merge", shard, "--out", tmp_path / "merged")
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 2 and f"pid {holder.pid}" in _one_line_error(refused)
    merged = migrator("report", "merge", shard, "--out", tmp_path / "merged")
    assert merged.returncode == 0, merged.stderr
    assert fleet_json(tmp_path / "merged")["repos"][0]["name"] == "orders"
    assert not (tmp_path / "merged" / lock.LOCK_FILE).exists()


def test_out_naming_a_file_is_a_usage_error_of_one_line(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a directory")
    refused = migrator(*plan_args(fleet, central_sources, tmp_path / "out"),
                       "--work", tmp_path / "w")
    assert refused.returncode == 2
    assert "is a file, not a directory" in _one_line_error(refused)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A mount point for a tmpfs the test mounts (unmounted after it)."""
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def _mount(point: Path, options: str) -> None:
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def test_a_read_only_out_is_one_line(fleet: Path, central_sources: demo.CentralSources,
                                     tmp_path: Path, tmpfs: Path) -> None:
    _mount(tmpfs, "ro,size=1m")
    refused = migrator(*plan_args(fleet, central_sources, tmpfs / "out"),
                       "--work", tmp_path / "w")
    assert refused.returncode == 2
    assert "read-only file system" in _one_line_error(refused)


def test_a_full_disk_is_one_line_and_the_last_reports_stay_whole(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path, tmpfs: Path) -> None:
    _mount(tmpfs, "size=4m")
    out = tmpfs / "out"
    args = [*plan_args(fleet, central_sources, out), "--work", tmp_path / "w"]
    first = migrator(*args)
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # fill the disk, but for a few KiB: the lock file fits, the reports do not
    free = os.statvfs(tmpfs)
    fd = os.open(tmpfs / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, free.f_bavail * free.f_frsize - 16384)
    finally:
        os.close(fd)
    # Another reference style: a plan whose reports differ, so they must be written. (A plan
    # made again unchanged writes nothing, and a repo now plans in a few milliseconds: two
    # runs can take the same time to the millisecond and give the same bytes.)
    full = migrator(*args, "--style", "dependency")
    assert full.returncode == 1, full.stdout
    line = _one_line_error(full)
    assert "cannot write the reports in" in line and "No space left on device" in line
    (tmpfs / "filler").unlink()
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after.keys() == before.keys(), "no temporary file left behind"
    assert fleet_json(out) == json.loads(before[out / "fleet.json"])
    for path, data in after.items():  # each file whole: the old one, or a complete new one
        if path.suffix == ".json":
            json.loads(data)
