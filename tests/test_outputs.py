"""An unchanged re-plan leaves its reports be; anything else writes them all."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from migrator import cli, demo

REPOS = ("orders", "payments", "gateway", "docs-site")


def _plan(fleet_dir: Path, central: demo.CentralSources, out: Path, work: Path,
          *extra: str) -> str:
    includes = [arg for name in REPOS for arg in ("--include", name)]
    result = CliRunner().invoke(cli.app, [
        "plan", "--fleet", str(fleet_dir), "--central", str(central.repo_dir),
        "--families", str(central.families_dir), "--target-version", "2.0.0",
        "--out", str(out), "--work", str(work), "--jobs", "1", *includes, *extra])
    assert result.exit_code in (0, 1), result.output
    return result.output


def _files(out: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(out.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_an_unchanged_replan_writes_no_report_and_says_the_same(
        fleet_dir: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    first = _plan(fleet_dir, central_sources, out, work)
    before = _files(out)
    assert {"fleet.json", "fleet.html", "plan-state.json", "repos/orders/report.md"} <= set(before)
    second = _plan(fleet_dir, central_sources, out, work)
    assert _files(out) == before  # same inodes, same times: nothing was replaced
    assert second == first


def test_reports_from_the_journal_are_the_bytes_a_first_plan_wrote(
        fleet_dir: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    # What makes leaving the reports be exact: the plans a re-plan takes from the journal
    # give the very bytes the first plan wrote (here written anew into another folder).
    work = tmp_path / "work"
    _plan(fleet_dir, central_sources, tmp_path / "first", work)
    _plan(fleet_dir, central_sources, tmp_path / "again", work)
    first, again = _files(tmp_path / "first"), _files(tmp_path / "again")
    assert first.keys() == again.keys()
    assert [name for name in first if first[name][2] != again[name][2]] == []


def test_a_report_changed_or_deleted_by_hand_is_written_again(
        fleet_dir: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    _plan(fleet_dir, central_sources, out, work)
    before = _files(out)
    (out / "repos" / "orders" / "report.md").write_text("edited\n")
    (out / "fleet.csv").unlink()
    _plan(fleet_dir, central_sources, out, work)
    after = _files(out)
    assert {name: data for name, (_, _, data) in after.items()} == \
        {name: data for name, (_, _, data) in before.items()}


def test_a_fresh_or_different_run_writes_its_reports(
        fleet_dir: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    _plan(fleet_dir, central_sources, out, work)
    before = _files(out)
    _plan(fleet_dir, central_sources, out, work, "--target-version", "1.2.0")
    changed = _files(out)
    assert changed["fleet.json"][2] != before["fleet.json"][2]
    _plan(fleet_dir, central_sources, out, work)  # back to 2.0.0: the memo is of 1.2.0's run
    assert _files(out)["fleet.json"][2] == before["fleet.json"][2]
