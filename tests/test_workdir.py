"""The work dir's layout has one owner, the dir is private to the user who runs the tool, and it
lives outside --out: in the user's cache directory, one per fleet, unless --work names it."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.errors import ConfigError
from migrator.journal import Journal
from migrator.workdir import WorkDir
from tests.hostile.smallfleet import fork_repo, migrator, plan_args


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_work_dir_is_the_fleets_own_in_the_users_cache_directory() -> None:
    env = {"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}
    work = WorkDir.default("gitlab https://gitlab.example.com group=platform/apps projects=",
                           "apps", env)
    assert work.root.parent == Path("/x/cache/migrator")
    assert re.fullmatch(r"apps-[0-9a-f]{12}", work.root.name)
    assert work == WorkDir.default("gitlab https://gitlab.example.com group=platform/apps "
                                   "projects=", "apps", env), "stable: the next run finds it"
    assert work != WorkDir.default("gitlab https://gitlab.example.com group=platform/web "
                                   "projects=", "apps", env)
    # the XDG rules: a relative XDG_CACHE_HOME is ignored, ~/.cache is the fallback
    for xdg in ("", "relative/cache"):
        home = WorkDir.default("fleet /repos", "repos", {"XDG_CACHE_HOME": xdg, "HOME": "/h"})
        assert home.root.parent == Path("/h/.cache/migrator")
    with pytest.raises(ConfigError, match="give --work"):
        WorkDir.default("fleet /repos", "repos", {})
    odd = WorkDir.default("fleet /r", "../../etc/passwd x", env)
    assert odd.root.parent == Path("/x/cache/migrator") and "/" not in odd.root.name


def test_the_fleet_and_the_shard_name_the_default_work_dir(tmp_path: Path) -> None:
    gitlab = config.GitLabOptions("https://gitlab.example.com", group="platform/apps")
    assert config.fleet_identity(tmp_path / "repos", gitlab, None) == (
        "gitlab https://gitlab.example.com group=platform/apps projects=", "apps")
    ident, label = config.fleet_identity(tmp_path / "repos", None, (2, 4)) or ("", "")
    assert ident == f"fleet {(tmp_path / 'repos').resolve()} shard 2/4"
    assert label == "repos-shard-2-of-4"
    assert config.fleet_identity(None, None, None) is None


def test_every_part_lives_under_the_root(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    assert work.clone("platform-orders") == tmp_path / "w" / "cache" / "platform-orders"
    assert work.clone("platform-orders").parent == work.cache
    for part in (work.cache, work.journal, work.review, work.logs):
        assert part.parent == work.root
    assert not work.root.exists(), "asking where things go creates nothing"


def test_a_new_work_dir_is_private(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "deep" / "w").create()
    assert _mode(work.root) == 0o700


@pytest.mark.parametrize("content", [None, "journal.sqlite", "cache/orders/x"])
def test_an_empty_or_earlier_work_dir_others_may_read_is_made_private(
        tmp_path: Path, content: str | None) -> None:
    """A CI cache restored with looser modes, or `mkdir` run with the usual umask."""
    loose = tmp_path / "loose"
    loose.mkdir()
    if content:
        (loose / content).parent.mkdir(parents=True, exist_ok=True)
        (loose / content).write_text("")
    loose.chmod(0o755)
    WorkDir(loose).create()
    assert _mode(loose) == 0o700


def test_a_readable_directory_that_is_not_a_work_dir_is_refused_not_changed(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    home.chmod(0o755)
    with pytest.raises(ConfigError, match=r"may be read by others .* \(chmod 700\)"):
        WorkDir(home).create()
    assert _mode(home) == 0o755
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        WorkDir(tmp_path / "file").create()


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


# The whole tool, as processes: plan, apply and status of one fleet, no --work given.

REPORTS = re.compile(r"(fleet\.(json|md|html|csv)|junit\.xml|plan-state\.json|central-gaps\.\w+"
                     r"|repos/orders/(report\.json|report\.md|changes\.patch))")


def test_plan_apply_and_status_share_the_fleets_private_work_dir_and_out_holds_only_reports(
        central_sources: demo.CentralSources, tmp_path: Path) -> None:
    fork_repo(tmp_path / "fleet" / "orders", "orders")
    cache = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(cache)}
    out = tmp_path / "out"
    planned = migrator(*plan_args(tmp_path / "fleet", central_sources, out), env=env)
    assert planned.returncode == 0, planned.stderr
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left and all(REPORTS.fullmatch(p) for p in left), left
    (work,) = (cache / "migrator").iterdir()
    assert _mode(work) == 0o700 and (work / "journal.sqlite").is_file()
    assert (work / "cache" / "orders" / ".git").is_dir()

    applied = migrator("apply", *plan_args(tmp_path / "fleet", central_sources, out)[1:],
                       env=env)
    assert applied.returncode == 0, applied.stderr
    assert (work / "review" / "orders").is_dir(), "apply found plan's work dir"
    status = migrator("status", "--fleet", tmp_path / "fleet", "--json", env=env)
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)["repos"]
    assert (row["repo"], row["state"], row["iid"]) == ("orders", "opened", 1)
    assert list((cache / "migrator").iterdir()) == [work]
