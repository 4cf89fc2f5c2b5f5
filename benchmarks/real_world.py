"""Real-world corpus benchmark: `migrator plan` on public repos pinned at known commits.

    .venv/bin/python benchmarks/real_world.py [--dest DIR] [--jobs 2] [--keep]

Reads a TSV of repos (columns: repo, commit, chart_paths, deploy_files, shapes), builds a local
fleet from bare mirrors (`<mirrors>/<owner>+<name>/repo`, as the search tool's `fetch` leaves
them): one normal git repo `<dest>/fleet/<owner>__<name>` per row, HEAD on a local branch at the
listed commit (the mirror's HEAD when the commit is absent, said so). Submodules are not fetched.
Then runs the installed `migrator plan` CLI on it as a subprocess and measures, from its output
files only (fleet.json, repos/<slug>/report.json, changes.patch) and from the repos themselves:

* charts reported, charts with a verdict and a reason, verdicts per chart and per repo, the
  listed chart paths the tool did not report;
* internal errors (a reason containing "internal error"), repos in `error`;
* non-forks proposed: charts whose verdict is ready/review but whose independent scaffold
  similarity (real_world_grep.Scaffold) is low, and those the template estimate says are not
  derived;
* lineage agreement: the share of charts whose lineage (origin, or not derived) agrees with an
  independent estimate of the closest central version or family by template line sets
  (real_world_grep.TemplateEstimate); charts the tool stopped on before lineage are counted
  apart;
* deploy references: an independent grep (real_world_grep.deploy_hits) against the references the
  tool reported -> found (reported, rewritable), flagged (reported but not rewritable, or
  named in a note as left for a person), missed (not reported);
* patches that apply (`git apply --check` on a fresh checkout of the same commit);
* references left to removed paths once the patch is applied (real_world_grep.leftover_hits).

Prints a compact table and writes `<dest>/out/real_world.json` with every figure and list.
Nothing from `migrator` is imported except through `_build_central` (the fixture central chart).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import real_world_grep as rg

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "corpus"


def _build_central(dest: Path) -> tuple[Path, Path]:
    """The fixture central chart and families (chart repository dirs). The only use of the
    package's code; its module path may change."""
    from migrator.demo import build_central

    s = build_central(dest)
    return s.repo_dir, s.families_dir


# --------------------------------------------------------------------------- fleet

@dataclass
class Row:
    repo: str
    commit: str
    chart_paths: list[str]
    deploy_files: list[str]
    shapes: str
    slug: str = ""
    path: Path = Path()
    used_commit: str = ""
    notes: list[str] = field(default_factory=list)


def read_tsv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        rows = []
        for rec in reader:
            split = lambda s: [p for p in (s or "").split(",") if p]  # noqa: E731
            rows.append(Row(rec["repo"], rec["commit"], split(rec["chart_paths"]),
                            split(rec["deploy_files"]), rec.get("shapes") or ""))
    return rows


def mirror_for(mirrors: Path, repo: str) -> Path | None:
    base = mirrors / repo.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base.with_suffix(".git"), base):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


def _git(args: Sequence[str], cwd: Path | None = None) -> str:
    return subprocess.run(["git", "-c", "core.autocrlf=false", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def build_repo(row: Row, mirrors: Path, fleet: Path) -> Row:
    row.slug = row.repo.replace("/", "__")
    row.path = fleet / row.slug
    mirror = mirror_for(mirrors, row.repo)
    if mirror is None:
        row.notes.append(f"no mirror under {mirrors} (fetch github:{row.repo})")
        return row
    have = subprocess.run(["git", "-C", str(mirror), "cat-file", "-t", row.commit],
                          capture_output=True, text=True).stdout.strip() == "commit"
    commit = row.commit
    if not have:
        commit = _git(["-C", str(mirror), "rev-parse", "HEAD"])
        row.notes.append(f"commit {row.commit} not in the mirror; used its HEAD {commit}")
    if _has_modules(mirror, commit):
        row.notes.append("has submodules (.gitmodules); they are not fetched")
    if row.path.exists():
        shutil.rmtree(row.path)
    _git(["clone", "-q", "--no-checkout", str(mirror), str(row.path)])
    _git(["-c", "advice.detachedHead=false", "checkout", "-q", "-B", BRANCH, commit],
         row.path)
    missing = _missing_blobs(row.path)
    if missing:
        _placeholder_commit(row.path, missing)
        row.notes.append(f"{len(missing)} blob(s) absent from the mirror (files of 4 MiB and "
                         f"more are not stored): {', '.join(sorted(missing)[:5])}; HEAD is a "
                         f"child commit of {commit} that replaces them with placeholders")
    row.used_commit = _git(["rev-parse", "HEAD"], row.path)
    return row


def _missing_blobs(repo: Path) -> dict[str, str]:
    """path -> blob id, for the blobs of HEAD's tree that the object store lacks."""
    entries = {}
    for line in _git(["ls-tree", "-r", "-z", "HEAD"], repo).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        _, kind, sha = meta.split()
        if kind == "blob":
            entries[path] = sha
    shas = "\n".join(sorted(set(entries.values()))) + "\n"
    out = subprocess.run(["git", "cat-file", "--batch-check"], cwd=repo, input=shas,
                         capture_output=True, text=True).stdout
    absent = {line.split()[0] for line in out.splitlines() if line.endswith(" missing")}
    return {p: s for p, s in entries.items() if s in absent}


def _placeholder_commit(repo: Path, missing: dict[str, str]) -> None:
    """A clone (`--depth 1`) needs every blob of the tip: put small placeholders in a child
    commit, so the fleet repo serves the listed tree minus the absent large files."""
    for path, sha in missing.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(f"placeholder: blob {sha} is absent from the corpus mirror\n",
                                 encoding="utf-8")
    _git(["add", "--", *missing], repo)
    env = {"GIT_AUTHOR_NAME": "corpus", "GIT_AUTHOR_EMAIL": "corpus@example.com",
           "GIT_COMMITTER_NAME": "corpus", "GIT_COMMITTER_EMAIL": "corpus@example.com",
           "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z"}
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m",
                    "corpus: placeholders for blobs absent from the mirror"], cwd=repo,
                   check=True, capture_output=True, env={**os.environ, **env})


def _has_modules(mirror: Path, commit: str) -> bool:
    return subprocess.run(["git", "-C", str(mirror), "cat-file", "-e", f"{commit}:.gitmodules"],
                          capture_output=True).returncode == 0


# --------------------------------------------------------------------------- plan

def migrator_cli(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "migrator"
    return str(beside) if beside.exists() else (shutil.which("migrator") or "migrator")


def run_plan(cli: str, fleet: Path, central: Path, families: Path | None, target: str,
             out: Path, work: Path, jobs: int, log: Path, force: bool = False,
             min_lineage: float | None = None) -> dict[str, Any]:
    cmd = [cli, "plan", "--fleet", str(fleet), "--central", str(central),
           "--target-version", target, "--out", str(out), "--work", str(work),
           "--jobs", str(jobs), "--fresh"]
    if families is not None:
        cmd += ["--families", str(families)]
    if force:
        cmd.append("--force")
    if min_lineage is not None:
        cmd += ["--min-lineage", str(min_lineage)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    log.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n",
                   encoding="utf-8")
    return {"command": cmd, "returncode": proc.returncode, "seconds": round(seconds, 1),
            "log": str(log)}


# --------------------------------------------------------------------------- analysis

VERDICTS = ("ready", "review", "blocked", "skipped", "error")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def compare_refs(hits: list[rg.Hit], report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Mark each grep hit found/flagged/missed; return the tool's references no hit matched."""
    refs = list((report or {}).get("references") or [])
    notes = " ".join((report or {}).get("notes") or [])
    used: set[int] = set()
    errored = report is None or report.get("verdict") == "error"
    for hit in hits:
        if hit.relevance in ("remote", "doc", "not-chart"):
            hit.status = "n/a"
            continue
        if errored and not refs:
            hit.status = "repo-error"  # an error report lists no references at all
            continue
        # the tool names a command by its first line; helmfile releases and Argo CD sources by
        # a key a few lines from the `chart:`/`path:` line the grep finds
        slack = 6 if hit.kind in ("helmfile", "argocd") else 3 if hit.kind == "yaml-chart" else 0
        best = None
        for i, ref in enumerate(refs):
            near = ref["file"] == hit.file and \
                hit.line - slack <= ref["line"] <= hit.end_line + slack
            if near and (best is None or
                         abs(ref["line"] - hit.line) < abs(refs[best]["line"] - hit.line)):
                best = i
        if best is None:
            hit.status = "missed"
            continue
        used.add(best)
        ref = refs[best]
        hit.tool_ref = ref
        left = f"{ref['file']}:{ref['line']}" in notes
        hit.status = "found" if ref.get("rewritable", True) and not left else "flagged"
    return [r for i, r in enumerate(refs) if i not in used]


# Outcomes reached before lineage decides anything: no origin to compare.
_BEFORE_LINEAGE = {"bad-input", "internal-error", "chart-invalid", "chart-does-not-render",
                   "fetch-failed", "no-chart", "already-central", "central-wrapper"}


def tool_lineage(chart: dict[str, Any]) -> dict[str, Any] | None:
    """The tool's lineage decision for a chart of report.json, None when it made none."""
    outcome = chart.get("outcome") or {}
    lineage = chart.get("lineage")
    if lineage:
        return {"derived": True, "candidate": f"{lineage['chart']} {lineage['version']}",
                "score": lineage.get("score"), "confidence": lineage.get("confidence")}
    if outcome.get("kind") == "not-derived":
        return {"derived": False, "candidate": outcome.get("detail") or None,
                "score": outcome.get("score"), "confidence": None}
    if outcome.get("kind") in _BEFORE_LINEAGE or not outcome:
        return None
    # planned as a fork without an origin (what a tool without the not-derived outcome did
    # below its threshold): neither a lineage nor "not derived", so it agrees with nothing
    return {"derived": None, "candidate": None, "score": None, "confidence": None}


def analyse_repo(row: Row, out: Path, scaffold: rg.Scaffold, scratch: Path,
                 estimate: rg.TemplateEstimate) -> dict[str, Any]:
    rep_dir = out / "repos" / row.slug
    report = _load(rep_dir / "report.json")
    res: dict[str, Any] = {"repo": row.repo, "slug": row.slug, "commit": row.used_commit,
                           "notes": row.notes, "listed_charts": row.chart_paths}
    if not row.used_commit:
        res["verdict"] = None
        return res
    res["verdict"] = report["verdict"] if report else None
    res["reason"] = report["reason"] if report else None
    files = rg.text_files(row.path)
    charts = rg.find_charts(row.path, files)
    res["charts_on_disk"] = charts
    chart_rows = []
    for c in (report or {}).get("charts") or []:
        sim = scaffold.similarity(row.path / c["path"]) if (row.path / c["path"]).is_dir() \
            else None
        lineage = c.get("lineage") or {}
        guess = estimate.estimate(row.path / c["path"]) if (row.path / c["path"]).is_dir() \
            else None
        decided = tool_lineage(c)
        chart_rows.append({
            "path": c["path"], "name": c["name"], "verdict": c["verdict"],
            "reason": c["reason"], "lineage": (f"{lineage.get('chart')} "
                                               f"{lineage.get('version')} "
                                               f"{lineage.get('score')}" if lineage else None),
            "scaffold": sim,
            "outcome_kind": (c.get("outcome") or {}).get("kind"),
            "tool_lineage": decided,
            "estimate": guess,
            "lineage_agrees": rg.lineage_agrees(decided, guess) if guess else None,
            "environments": {k: {"values_files": v["values_files"], "error": v["error"],
                                 "release": v["release"]}
                             for k, v in (c.get("environments") or {}).items()},
            "findings": c.get("findings") or [],
        })
    res["charts"] = chart_rows
    reported = {c["path"] for c in chart_rows}
    res["listed_not_reported"] = [p for p in row.chart_paths if p not in reported]
    res["on_disk_not_reported"] = [p or "." for p in charts if p not in reported]
    res["scaffold_on_disk"] = {p or ".": scaffold.similarity(row.path / p) for p in charts}
    hits = rg.deploy_hits(row.path, files, charts, row.repo.split("/")[-1])
    tool_only = compare_refs(hits, report)
    res["deploy_hits"] = [h.as_dict() for h in hits]
    res["tool_only_refs"] = tool_only
    res["tool_refs"] = (report or {}).get("references") or []
    res["report_notes"] = (report or {}).get("notes") or []
    # A patch that carries secrets is published redacted (it cannot apply by design); the whole
    # one is in the work dir, which is what apply commits.
    secrets = (report or {}).get("patch_secrets") or {}
    full = out.parent / "work" / secrets["full_patch"] if secrets.get("full_patch") else None
    res["patch"] = check_patch(row, full if full and full.is_file() else rep_dir / "changes.patch",
                               scratch)
    if res["patch"] is not None:
        res["patch"]["redacted_in_out"] = bool(secrets)
    return res


def check_patch(row: Row, patch: Path, scratch: Path) -> dict[str, Any] | None:
    if not patch.is_file():
        return None
    dest = scratch / row.slug
    rg.fresh_checkout(row.path, row.used_commit, dest)
    check = rg.git(["apply", "--check", str(patch)], dest, check=False)
    res: dict[str, Any] = {"applies": check.returncode == 0,
                           "error": check.stderr.strip()[:2000] or None,
                           "bytes": patch.stat().st_size}
    deleted = rg.deleted_paths(dest, patch)
    res["deleted_files"] = len(deleted)
    if check.returncode != 0:
        res["removed"], res["leftovers"] = [], []
        return res
    rg.git(["apply", str(patch)], dest)
    removed = rg.removed_roots(dest, deleted)
    res["removed"] = removed
    res["leftovers"] = rg.leftover_hits(dest, removed)
    shutil.rmtree(dest, ignore_errors=True)
    return res


def summarise(repos: list[dict[str, Any]]) -> dict[str, Any]:
    per_repo = Counter(r.get("verdict") or "not built" for r in repos)
    charts = [(r, c) for r in repos for c in r.get("charts") or []]
    per_chart = Counter(c["verdict"] for _, c in charts)
    internal = [f"{r['repo']}:{c['path']}" for r, c in charts
                if "internal error" in (c["reason"] or "")]
    internal_repos = [r["repo"] for r in repos if "internal error" in (r.get("reason") or "")]
    nonfork = [{"repo": r["repo"], "chart": c["path"], "verdict": c["verdict"],
                "scaffold": c["scaffold"], "lineage": c["lineage"]}
               for r, c in charts if c["verdict"] in ("ready", "review") and c["scaffold"]
               and c["scaffold"]["low"]]
    nonfork_estimate = [{"repo": r["repo"], "chart": c["path"], "verdict": c["verdict"],
                         "estimate": c["estimate"], "lineage": c["lineage"]}
                        for r, c in charts if c["verdict"] in ("ready", "review")
                        and c["estimate"] and not c["estimate"]["derived"]]
    judged = [(r, c) for r, c in charts if c["lineage_agrees"] is not None]
    agree = sum(1 for _, c in judged if c["lineage_agrees"])
    hits = [(r, h) for r in repos for h in r.get("deploy_hits") or []]

    def tally(rel: str) -> dict[str, int]:
        t = Counter(h["status"] for _, h in hits if h["relevance"] == rel)
        return {k: t.get(k, 0) for k in ("found", "flagged", "missed", "repo-error")}

    def listing(rel: str, status: str) -> list[str]:
        return [f"{r['repo']}:{h['file']}:{h['line']} [{h['kind']}] {h['target']}"
                for r, h in hits if h["relevance"] == rel and h["status"] == status]

    patches = [(r, r["patch"]) for r in repos if r.get("patch")]
    leftovers = [(r, h) for r, p in patches for h in p.get("leftovers") or []]
    return {
        "repos": len(repos),
        "repos_per_verdict": {v: per_repo.get(v, 0) for v in (*VERDICTS, "not built")
                              if per_repo.get(v, 0) or v in VERDICTS},
        "charts_listed": sum(len(r["listed_charts"]) for r in repos),
        "charts_reported": len(charts),
        "charts_with_verdict_and_reason": sum(1 for _, c in charts if c["verdict"] and
                                              c["reason"]),
        "charts_per_verdict": {v: per_chart.get(v, 0) for v in VERDICTS},
        "listed_charts_not_reported": [f"{r['repo']}:{p}" for r in repos
                                       for p in r.get("listed_not_reported") or []],
        "error_repos": [r["repo"] for r in repos if r.get("verdict") == "error"],
        "internal_error_charts": internal,
        "internal_error_repos": internal_repos,
        "nonforks_proposed": nonfork,
        "nonforks_proposed_by_estimate": nonfork_estimate,
        "lineage_agreement": {
            "judged": len(judged), "agree": agree,
            "share": round(agree / len(judged), 4) if judged else None,
            "before_lineage": len(charts) - len(judged),
            "near_ties": sum(1 for _, c in judged
                             if c["estimate"]["derived"] and len(c["estimate"]["near"]) > 1),
            "planned_without_origin": sum(1 for _, c in judged
                                          if c["tool_lineage"]["derived"] is None),
            "disagreements": [
                f"{r['repo']}:{c['path']}: tool {_said(c['tool_lineage'])} "
                f"{c['tool_lineage']['candidate']} ({c['tool_lineage']['score']}); estimate "
                f"{'derived ' if c['estimate']['derived'] else 'not derived, closest '}"
                f"{c['estimate']['closest']} ({c['estimate']['jaccard']}; next "
                f"{c['estimate']['second']})"
                for r, c in judged if not c["lineage_agrees"]],
        },
        "deploy_refs": {"local": tally("local"), "variable": tally("variable"),
                        "unresolved": tally("unresolved"),
                        "remote_or_doc": sum(1 for _, h in hits
                                             if h["relevance"] in ("remote", "doc",
                                                                   "not-chart"))},
        "deploy_refs_missed_local": listing("local", "missed"),
        "deploy_refs_missed_variable": listing("variable", "missed"),
        "deploy_refs_missed_unresolved": listing("unresolved", "missed"),
        "deploy_refs_flagged": listing("local", "flagged") + listing("variable", "flagged"),
        "tool_only_refs": [f"{r['repo']}:{t['file']}:{t['line']} [{t['source']}]"
                           for r in repos for t in r.get("tool_only_refs") or []],
        "patches": len(patches),
        "patches_apply": sum(1 for _, p in patches if p["applies"]),
        "patches_failing": [f"{r['repo']}: {p['error']}" for r, p in patches
                            if not p["applies"]],
        "leftover_refs": len([1 for _, h in leftovers if not h["doc"]]),
        "leftover_refs_in_docs": len([1 for _, h in leftovers if h["doc"]]),
        "leftover_list": [f"{r['repo']}:{h['file']}:{h['line']} ({h['removed']}; "
                          f"{','.join(h['kinds'])}) {h['text']}" for r, h in leftovers],
    }


def table(repos: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = [f"{'repo':46} {'verdict':8} {'charts':>6} {'r/v/b/s/e':>11} {'refs f/fl/m':>11} "
             f"{'patch':>5} {'left':>4}"]
    for r in repos:
        cs = Counter(c["verdict"] for c in r.get("charts") or [])
        loc = [h for h in r.get("deploy_hits") or [] if h["relevance"] in ("local", "variable")]
        st = Counter(h["status"] for h in loc)
        p = r.get("patch")
        lines.append(
            f"{r['repo'][:46]:46} {str(r.get('verdict'))[:8]:8} {len(r.get('charts') or []):>6} "
            f"{'/'.join(str(cs.get(v, 0)) for v in VERDICTS):>11} "
            f"{st['found']:>3}/{st['flagged']:>2}/{st['missed'] + st['repo-error']:>3}  "
            f"{'-' if p is None else ('ok' if p['applies'] else 'FAIL'):>5} "
            f"{'-' if p is None else len([h for h in p['leftovers'] if not h['doc']]):>4}")
    s = summary
    d = s["deploy_refs"]
    lines += [
        "",
        f"repos {s['repos']}: " + ", ".join(f"{k} {v}" for k, v in
                                            s["repos_per_verdict"].items()),
        f"charts listed {s['charts_listed']}, reported {s['charts_reported']} "
        f"(with verdict+reason {s['charts_with_verdict_and_reason']}): "
        + ", ".join(f"{k} {v}" for k, v in s["charts_per_verdict"].items()),
        f"listed charts not reported: {len(s['listed_charts_not_reported'])}",
        f"internal errors: {len(s['internal_error_repos'])} repos, "
        f"{len(s['internal_error_charts'])} charts; error repos {len(s['error_repos'])}",
        f"non-forks proposed (ready/review, scaffold markers <= {rg.LOW_MARKERS}/8): "
        f"{len(s['nonforks_proposed'])}; by the template estimate (Jaccard < "
        f"{rg.MIN_JACCARD}): {len(s['nonforks_proposed_by_estimate'])}",
        _agreement_line(s["lineage_agreement"]),
        "deploy refs (found/flagged/missed/in error repos): " + "; ".join(
            f"{k} {'/'.join(str(v) for v in d[k].values())}"
            for k in ("local", "variable", "unresolved"))
        + f"; remote/doc/not-chart (not compared) {d['remote_or_doc']}; "
        f"tool-only refs {len(s['tool_only_refs'])}",
        f"patches {s['patches']}, apply {s['patches_apply']}, fail "
        f"{len(s['patches_failing'])}",
        f"references left to removed paths: {s['leftover_refs']} (+{s['leftover_refs_in_docs']}"
        " in docs)",
    ]
    return "\n".join(lines)


def _said(tool: dict[str, Any]) -> str:
    return {True: "derived", False: "not derived, closest", None: "planned with no origin"}[
        tool["derived"]]


def _agreement_line(a: dict[str, Any]) -> str:
    share = "n/a" if a["share"] is None else f"{100 * a['share']:.0f} %"
    return (f"lineage agrees with the template estimate: {a['agree']}/{a['judged']} ({share}); "
            f"planned with no origin {a['planned_without_origin']}; {a['before_lineage']} "
            f"charts stopped before lineage; {a['near_ties']} estimate near-ties")


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tsv", type=Path, default=ROOT.parent / "shared/real-world/repos.tsv")
    p.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    p.add_argument("--dest", type=Path, default=None,
                   help="build here and keep the result (default: a temporary directory)")
    p.add_argument("--central", type=Path, default=None,
                   help="central chart repository dir (default: the fixture central chart)")
    p.add_argument("--families", type=Path, default=None)
    p.add_argument("--target-version", default="2.0.0")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep a temporary --dest")
    p.add_argument("--migrator", default=None,
                   help="the CLI to run (default: `migrator` beside this Python)")
    p.add_argument("--force", action="store_true",
                   help="pass --force: change sets for blocked repos too (more patches to check)")
    p.add_argument("--min-lineage", type=float, default=None,
                   help="pass --min-lineage (0 plans every chart, forks or not: more to check)")
    p.add_argument("--only", action="append", default=[], help="only these repos (repeatable)")
    p.add_argument("--reanalyse", action="store_true",
                   help="measure the fleet and plan output an earlier run left in --dest again "
                        "(no build, no plan): e.g. a plan made by another revision")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    temp = args.dest is None
    dest = Path(tempfile.mkdtemp(prefix="real-world-")) if temp else args.dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, dest)
    finally:
        if temp and not args.keep:
            shutil.rmtree(dest, ignore_errors=True)
        elif temp:
            print(f"kept {dest}")


def run(args: argparse.Namespace, dest: Path) -> int:
    rows = read_tsv(args.tsv)
    if args.only:
        rows = [r for r in rows if r.repo in args.only]
    fleet, out, work, scratch = (dest / "fleet", dest / "out", dest / "work", dest / "scratch")
    if args.reanalyse:
        return reanalyse(args, dest, rows)
    for d in (fleet, scratch, work, dest / "central"):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda r: build_repo(r, args.mirrors, fleet), rows))
    for r in rows:
        for note in r.notes:
            print(f"{r.repo}: {note}", file=sys.stderr)
    built = [r for r in rows if r.used_commit]
    if args.central is None:
        central, families = _build_central(dest / "central")
        families_arg: Path | None = families if args.families is None else args.families
    else:
        central, families_arg = args.central, args.families
    build_seconds = time.perf_counter() - started
    plan = run_plan(migrator_cli(args.migrator), fleet, central, families_arg,
                    args.target_version, out, work, args.jobs, dest / "plan.log", args.force,
                    args.min_lineage)
    if not (out / "fleet.json").is_file():
        print(f"migrator plan wrote no fleet.json (exit {plan['returncode']}); see "
              f"{plan['log']}", file=sys.stderr)
        return 2
    return report(args, dest, rows, built, central, families_arg, plan, build_seconds)


def report(args: argparse.Namespace, dest: Path, rows: list[Row], built: list[Row],
           central: Path, families: Path | None, plan: dict[str, Any],
           build_seconds: float) -> int:
    out, scratch = dest / "out", dest / "scratch"
    fleet_json = _load(out / "fleet.json")
    scaffold = rg.Scaffold()
    estimate = rg.TemplateEstimate([central, *([families] if families else [])])
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        repos = list(pool.map(lambda r: analyse_repo(r, out, scaffold, scratch, estimate),
                              built))
    summary = summarise(repos)
    result = {
        "tsv": str(args.tsv), "dest": str(dest), "build_seconds": round(build_seconds, 1),
        "plan": plan, "fleet_summary": fleet_json.get("summary"),
        "summary": summary, "repos": repos,
        "not_built": [{"repo": r.repo, "notes": r.notes} for r in rows if not r.used_commit],
    }
    (out / "real_world.json").write_text(json.dumps(result, indent=2, default=str) + "\n",
                                         encoding="utf-8")
    print(table(repos, summary))
    print(f"\nplan: exit {plan.get('returncode')} in {plan.get('seconds')} s; "
          f"wrote {out / 'real_world.json'}")
    return 0


def reanalyse(args: argparse.Namespace, dest: Path, rows: list[Row]) -> int:
    """The fleet, central chart and plan output of an earlier run in `dest`, measured again."""
    if not (dest / "out" / "fleet.json").is_file():
        print(f"--reanalyse: {dest}/out/fleet.json not found", file=sys.stderr)
        return 2
    for row in rows:
        row.slug = row.repo.replace("/", "__")
        row.path = dest / "fleet" / row.slug
        if (row.path / ".git").is_dir():
            row.used_commit = _git(["rev-parse", "HEAD"], row.path)
    scratch = dest / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    central = args.central or dest / "central" / "charts"
    families = args.families or (dest / "central" / "families"
                                 if (dest / "central" / "families").is_dir() else None)
    built = [r for r in rows if r.used_commit]
    return report(args, dest, rows, built, central, families, {"reanalysed": True}, 0.0)


if __name__ == "__main__":
    sys.exit(main())
