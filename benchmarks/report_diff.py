"""Diff every report the demo writes between an older revision of the code and this one.

    .venv/bin/python benchmarks/report_diff.py --base <git rev> [--keep DIR]

Both revisions plan the demo fleet in the same directory (so paths printed in reports are the
same), with the same interpreter and dependencies; the old code is imported from a `git worktree`
of the base revision. Timings (`seconds`, durations) are masked; every other byte must match.
Exit status 1 when any report differs, and the differing lines are printed.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TIMING = [
    (re.compile(rb'"seconds": [0-9.]+'), b'"seconds": 0'),
    (re.compile(rb'time="[0-9.]+"'), b'time="0"'),
    (re.compile(rb"\b[0-9]+\.[0-9]+ ?s\b"), b"0.0 s"),
]


def _plan_demo(code: Path, demo_dir: Path, dest: Path) -> None:
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    env = {**os.environ, "PYTHONPATH": str(code), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "migrator", "demo", str(demo_dir)], cwd=code,
                          env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"demo failed with {code}:\n{proc.stderr[-4000:]}")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(demo_dir / "out", dest)


def _normalized(path: Path) -> list[bytes]:
    data = path.read_bytes()
    for pattern, repl in _TIMING:
        data = pattern.sub(repl, data)
    return data.splitlines(keepends=True)


def diff_trees(old: Path, new: Path) -> list[str]:
    out: list[str] = []
    names = sorted({p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
                   | {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()})
    for name in names:
        a, b = old / name, new / name
        if not a.exists() or not b.exists():
            out.append(f"{name}: only in {'new' if b.exists() else 'old'}")
            continue
        la, lb = _normalized(a), _normalized(b)
        if la != lb:
            lines = difflib.unified_diff([x.decode(errors="replace") for x in la],
                                         [x.decode(errors="replace") for x in lb],
                                         f"old/{name}", f"new/{name}", n=1)
            out.append("".join(list(lines)[:60]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision of the old code")
    parser.add_argument("--keep", type=Path, help="keep both report trees here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-diff-") as tmp:
        work = Path(args.keep or tmp)
        worktree = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                        str(worktree), args.base], check=True)
        try:
            demo_dir = Path(tmp) / "demo"
            _plan_demo(worktree, demo_dir, work / "old")
            _plan_demo(ROOT, demo_dir, work / "new")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(worktree)], check=False)
        diffs = diff_trees(work / "old", work / "new")
        files = sum(1 for p in (work / "new").rglob("*") if p.is_file())
    for d in diffs:
        print(d)
    print(f"{files} report files compared with {args.base}: {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
