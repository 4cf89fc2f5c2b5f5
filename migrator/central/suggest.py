"""`migrator central suggest`: the change to the central chart that adds hatches for what blocks
the fleet, proved neutral for current users.

The central chart's git repository (the form `--central` reads: tags `v<version>`, the chart at
the root or at a path) is read at HEAD. For the chosen kinds (by default those of the plan's
unblock order that a hatch can carry) the change adds generic values, each empty by default:
templates edited in place (central/suggest_templates.py), values.yaml round trip with a comment
per key, the minor version bumped, a CHANGELOG entry. It is proved by rendering the chart before
and after with its defaults and with the values of every repo the plan migrates (central/proof.py):
identical manifests. `write` commits it on a branch `central-suggest/<version>` of that
repository (HEAD, the work tree and the tags stay: releasing is the platform team's step) and
writes the patch beside the plan.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from migrator import fsio, git
from migrator.central import gaps, suggest_templates, suggest_values
from migrator.central import hatches as catalogue
from migrator.central import proof as proving
from migrator.errors import ConfigError, GitError, MigratorError
from migrator.model import FleetPlan
from migrator.verify import render

BRANCH_PREFIX = "central-suggest/"
AUTHOR = ("migrator", "migrator@localhost")


@dataclass(frozen=True)
class Suggestion:
    repo: Path
    chart_path: str  # "." for a chart at the root
    chart: str  # its name
    base: str  # the commit it applies to (HEAD when suggested)
    version: str
    new_version: str
    kinds: tuple[str, ...]  # what was asked for
    added: tuple[catalogue.Hatch, ...]
    offered: tuple[tuple[catalogue.Hatch, str], ...]  # already there: (hatch, its values key)
    writes: Mapping[str, bytes]  # repo-relative path -> new content
    proof: proving.Proof
    patch: str

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}{self.new_version}"

    @property
    def patch_name(self) -> str:
        return f"central-suggest-{self.new_version}.patch"


class SuggestError(MigratorError):
    """The suggestion cannot be made or written; the message says why."""


def default_kinds(fleet: FleetPlan) -> tuple[str, ...]:
    """The kinds of the plan's unblock order (central/gaps.py) that a hatch carries, in that
    order: what moves the most blocked repos first."""
    found: list[str] = []
    for step in gaps.gaps(fleet).order:
        found.extend(k for k in step.kinds if catalogue.carried(k) and k not in found)
    return tuple(found)


def suggest(repo: Path, fleet: FleetPlan | None, kinds: Sequence[str] | None = None,
            chart_path: str | None = None) -> Suggestion:
    """The change for `kinds` (None: `default_kinds` of the plan), proved against the plan."""
    chart_path = (chart_path or ".").strip("/") or "."
    if not git.is_repo(repo):
        raise ConfigError(f"--central-git {repo}: not a git repository")
    if kinds is None:
        kinds = default_kinds(fleet) if fleet is not None else ()
        if not kinds:
            raise ConfigError("the plan has no blocked chart a hatch would unblock: name the "
                              "kinds with --kinds")
    wanted = catalogue.for_kinds(kinds)
    base = git.ref_sha(repo, "HEAD")
    if base is None:
        raise ConfigError(f"--central-git {repo}: no commit at HEAD")
    files = _chart_files(repo, base, chart_path)
    chart_yaml = _text(files, "Chart.yaml", chart_path)
    values_yaml = _text(files, "values.yaml", chart_path)
    before = _load(files)
    if fleet is not None and fleet.central.name != before.name:
        raise ConfigError(f"the plan is for {fleet.central.name}; --central-git {repo} holds "
                          f"{before.name}")
    version = before.version
    new_version = suggest_values.next_minor(version, _rel(chart_path, "Chart.yaml"))
    if git.ref_sha(repo, f"refs/tags/v{new_version}") is not None:
        raise SuggestError(f"{repo}: v{new_version} is already tagged; the suggestion goes on "
                           f"HEAD ({version}), which is older")
    offered = tuple((h, key) for h in wanted
                    if (key := catalogue.already_offered(h, before.values)) is not None)
    added = tuple(h for h in wanted if h not in {o for o, _ in offered})
    if not added:
        raise SuggestError(f"{before.name} {version} already offers "
                           + ", ".join(f"`{key}`" for _, key in offered))
    changed = {name: text.encode() for name, text in _templates_changed(files, added).items()}
    changed["values.yaml"] = suggest_values.add_values(
        values_yaml, added, new_version, _rel(chart_path, "values.yaml")).encode()
    changed["Chart.yaml"] = suggest_values.bump_version(
        chart_yaml, new_version, _rel(chart_path, "Chart.yaml")).encode()
    after = _load({**files, **changed})
    proof = proving.prove(before, after, proving.value_sets(fleet), [h.key for h in added])
    log_name, log_text = _changelog(repo, base, chart_path, files, new_version, added, proof,
                                    version, fleet)
    writes = {_rel(chart_path, name): content for name, content in changed.items()}
    writes[log_name] = log_text.encode()
    return Suggestion(
        repo=repo, chart_path=chart_path, chart=before.name, base=base, version=version,
        new_version=new_version, kinds=tuple(kinds), added=added, offered=offered,
        writes=writes, proof=proof, patch=git.patch_for(repo, writes))


def write(suggestion: Suggestion, out: Path, author: tuple[str, str] = AUTHOR,
          when: str | None = None) -> tuple[str, Path]:
    """Commit the suggestion on its branch (never over an existing one) and write its patch in
    `out`. Refused when the proof does not hold. `when` ("<epoch> +0000") fixes the commit's
    dates, for a reproducible demo. Returns the commit and the patch's path."""
    if not suggestion.proof.holds:
        raise SuggestError(f"not written: the change is not neutral for current users "
                           f"({len(suggestion.proof.failed)} value sets render differently)")
    if git.ref_sha(suggestion.repo, f"refs/heads/{suggestion.branch}") is not None:
        raise SuggestError(f"{suggestion.repo}: branch {suggestion.branch} exists already; "
                           f"delete it to suggest again")
    dates = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else {}
    sha = git.commit_patch(suggestion.repo, suggestion.base, suggestion.patch,
                           commit_message(suggestion), author[0], author[1], env=dates)
    try:
        git.create_branch(suggestion.repo, suggestion.branch, sha)
    except GitError as exc:
        raise SuggestError(f"{suggestion.repo}: cannot create {suggestion.branch}: {exc}") \
            from exc
    patch = out / suggestion.patch_name
    fsio.write_atomic(patch, suggestion.patch)
    return sha, patch


def commit_message(s: Suggestion) -> str:
    keys = ", ".join(h.key for h in s.added)
    return (f"{s.chart} {s.new_version}: add {keys} (off by default)\n\n"
            + "\n".join(proving.summary(s.proof, s.version, s.new_version)) + "\n\n"
            + "Proposed by `migrator central suggest`.\n")


def report(s: Suggestion) -> list[str]:
    """What a person reads: the change, the proof, what was already there."""
    lines = [f"{s.chart} {s.version} -> {s.new_version} ({s.repo}, "
             f"{'chart at the root' if s.chart_path == '.' else s.chart_path}, on {s.base[:12]})"]
    for hatch in s.added:
        lines.append(f"  adds `{hatch.key}` ({', '.join(hatch.kinds)}): {hatch.doc}")
    for hatch, key in s.offered:
        lines.append(f"  already offers `{key}`: no `{hatch.key}` added")
    lines.append("  files: " + ", ".join(sorted(s.writes)))
    lines.extend(proving.summary(s.proof, s.version, s.new_version))
    return lines


def _chart_files(repo: Path, base: str, chart_path: str) -> dict[str, bytes]:
    found = git.files_at(repo, base, chart_path)
    prefix = "" if chart_path == "." else f"{chart_path}/"
    files = {name[len(prefix):]: data for name, data in found.items() if name.startswith(prefix)}
    if "Chart.yaml" not in files:
        raise ConfigError(f"--central-git {repo}: no Chart.yaml at "
                          f"{'the root' if chart_path == '.' else chart_path} in HEAD "
                          f"(--central-path names where the chart is)")
    return files


def _text(files: Mapping[str, bytes], name: str, chart_path: str) -> str:
    try:
        return files.get(name, b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuggestError("not UTF-8 text", file=_rel(chart_path, name)) from exc


def _templates_changed(files: Mapping[str, bytes], added: Sequence[catalogue.Hatch]
                       ) -> dict[str, str]:
    templates = {}
    for name, data in files.items():
        if name.startswith("templates/"):
            try:
                templates[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a template anyone edits by hand; Helm reads it as it is
    return suggest_templates.add_hatches(templates, added)


def _load(files: Mapping[str, bytes]) -> render.LoadedChart:
    with tempfile.TemporaryDirectory(prefix="migrator-central-") as tmp:
        root = Path(tmp) / "chart"
        for name, data in files.items():
            path = root / PurePosixPath(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return render.load(root)


def _rel(chart_path: str, name: str) -> str:
    return name if chart_path == "." else f"{chart_path}/{name}"


def _changelog(repo: Path, base: str, chart_path: str, files: Mapping[str, bytes],
               new_version: str, added: Sequence[catalogue.Hatch], proof: proving.Proof,
               version: str, fleet: FleetPlan | None) -> tuple[str, str]:
    """The chart's CHANGELOG.md (else the repository's, else a new one beside Chart.yaml)."""
    name, existing = _rel(chart_path, "CHANGELOG.md"), files.get("CHANGELOG.md")
    if existing is None and chart_path != ".":
        root = git.files_at(repo, base, ".").get("CHANGELOG.md")
        if root is not None:
            name, existing = "CHANGELOG.md", root
    entry = ["Hatches: generic values, each empty (off) by default, for what app teams add to "
             "the chart's manifests.", ""]
    entry += [f"- `{h.key}`: {h.doc}" for h in added]
    repos = sorted({s.name.split(":", 1)[0] for s in proving.value_sets(fleet)[1:]})
    entry += ["", f"Nothing changes for current users: {version} and {new_version} render "
                  f"identical manifests with the chart's defaults and with the values of "
                  f"{len(repos)} migrated repos ({proof.rendered} value sets; only the "
                  f"`helm.sh/chart` label names the new version)."]
    try:
        text = existing.decode("utf-8") if existing is not None else None
    except UnicodeDecodeError as exc:
        raise SuggestError("not UTF-8 text", file=name) from exc
    return name, suggest_values.changelog(text, new_version, entry)

