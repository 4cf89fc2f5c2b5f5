"""Read what a fork deploys today: its chart's defaults and each environment's values files and
static `--set` flags, as Helm would read them. Files are data: checked, never followed out of the
repository.

What Helm reads and a stricter reader would not (a key written twice) is read as Helm reads it and
becomes a notice on the chart; what Helm refuses (a values file that is a list) is refused, naming
the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from migrator import tree, yamlguard
from migrator.errors import RepoError
from migrator.model import EmbeddedChart, Notice, NoticeKind, ValueDecision
from migrator.values import files
from migrator.values.files import Duplicate
from migrator.values.flags import flag_values, static
from migrator.values.shapes import ITEM, Mismatch
from migrator.verify import render


@dataclass(frozen=True)
class ForkValues:
    defaults: dict[str, Any]  # the chart's own values.yaml ({} when it has none)
    by_env: dict[str, dict[str, Any]]  # env -> its values files merged, static --set applied
    notices: tuple[Notice, ...] = ()  # what was read leniently, as Helm reads it
    lines: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> dotted key ->
    # line, in the order Helm reads the files: where a finding about a value points


def read_fork_values(workdir: Path, chart: EmbeddedChart) -> ForkValues:
    notices: dict[tuple[str | None, int | None, str], Notice] = {}
    lines: dict[str, dict[str, int]] = {}
    # The files the migrated ones are edited from (changeset.values_writes)
    sources = {chart.values_file, *(e.values_files[-1] for e in chart.environments
                                    if e.values_files)}

    def parse(rel: str, text: str, cited_by: str = "") -> dict[str, Any]:
        values = parse_values(text, rel, cited_by)
        if rel not in lines:
            reading = files.read(text, edited=rel in sources)
            lines[rel] = reading.keys.lines
            for n in lenient_notices(rel, reading.keys.duplicates, reading.problem):
                notices.setdefault((n.file, n.line, n.detail), n)
        return values

    defaults: dict[str, Any] = {}
    if chart.values_file:
        text = read_text(workdir, chart.values_file)
        defaults = parse(chart.values_file, text) if text else {}
    by_env: dict[str, dict[str, Any]] = {}
    for env in chart.environments:
        merged: dict[str, Any] = {}
        for rel in env.values_files:
            text = read_text(workdir, rel, env.release_source)
            merged = tree.merge(merged, parse(rel, text, env.release_source))
        # Static --set values move into the values files; dynamic ones stay flags.
        by_env[env.name] = tree.merge(merged, flag_values(static(env.set_flags), ()))
    return ForkValues(defaults, by_env, tuple(notices.values()), lines)


def parse_values(text: str, rel: str, cited_by: str = "") -> dict[str, Any]:
    """A values file as Helm reads it; one that is not a map (Helm refuses it) says its shape.
    One past `yamlguard`'s limits is refused before Helm reads it."""
    try:
        yamlguard.check_text(text)
    except yamlguard.YamlLimitError as exc:
        raise yamlguard.refused(rel, exc) from exc
    try:
        return render.parse_values(text, rel)
    except RepoError as exc:
        shape = _top_level_shape(text)
        if shape is None:
            raise
        passed = f" (passed by {cited_by})" if cited_by else ""
        raise RepoError(f"the values file is {shape}, not a map of keys: Helm refuses it"
                        f"{passed}", file=rel) from exc


def _top_level_shape(text: str) -> str | None:
    try:
        doc = YAML(typ="safe").load(text)
    except YAMLError:
        return None
    if isinstance(doc, list):
        return "a list"
    if isinstance(doc, bool):
        return "a bool"
    if isinstance(doc, int | float):
        return "a number"
    if isinstance(doc, str):
        return "a string"
    return None


def lenient_notices(rel: str, duplicates: Sequence[Duplicate], problem: str | None
                    ) -> list[Notice]:
    """What Helm reads without complaint and a reviewer should know about (`problem`: why the
    round-trip reader refuses the file a migrated values file is edited from)."""
    found = [Notice(NoticeKind.LENIENT,
                    f"duplicate key `{d.path}`{_also(d.earlier)}: Helm uses the last one",
                    file=rel, line=d.line)
             for d in duplicates]
    if problem is not None:
        found.append(Notice(NoticeKind.LENIENT, f"written anew, without its comments: the "
                                                f"round trip reader refuses it ({problem})",
                            file=rel))
    return found


def shape_notice(found: Mismatch, fork: ForkValues, decisions: Sequence[ValueDecision]
                 ) -> Notice:
    """A value of another shape, where the fork sets it, and whether a mapping rule fits."""
    rule = found.conversion
    advice = (f"`migrator mappings suggest` proposes a `convert` rule ({rule.describe()})"
              if rule is not None else "no simple mapping rule fits: write a `convert` rule "
                                       "by hand, or change the value")
    file, line = _where_set(found, fork, decisions)
    return Notice(NoticeKind.VALUES_SHAPE, f"`{found.dotted}` is {found.detail}: {advice}",
                  file=file, line=line)


def _where_set(found: Mismatch, fork: ForkValues, decisions: Sequence[ValueDecision]
               ) -> tuple[str | None, int | None]:
    """The file and line of the fork's key (under its own name when a rule renamed it); the
    file read last wins, as in Helm."""
    keys = found.path[:found.path.index(ITEM)] if ITEM in found.path else found.path
    path = tree.dotted(keys)
    source = path
    for d in decisions:
        suffix = d.path[len(path):]
        if d.source and (d.path == path or (d.path.startswith(path + ".")
                                            and d.source.endswith(suffix))):
            source = d.source[: len(d.source) - len(suffix)]
            break
    for rel in reversed(list(fork.lines)):
        line = fork.lines[rel].get(source)
        if line is not None:
            return rel, line
    return None, None


def _also(lines: tuple[int, ...]) -> str:
    return f" (also at line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})"


def read_text(workdir: Path, rel: str, cited_by: str = "") -> str:
    path = workdir / rel
    if path.is_symlink() and not path.resolve().is_relative_to(workdir.resolve()):
        raise RepoError("symlink points outside the repository", file=rel)
    if not path.is_file():
        suffix = f" (passed by {cited_by})" if cited_by else ""
        raise RepoError(f"values file does not exist{suffix}", file=rel)
    if path.stat().st_size > render.MAX_FILE_BYTES:
        raise RepoError(f"values file is over {render.MAX_FILE_BYTES} bytes", file=rel)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RepoError("not a UTF-8 text file", file=rel) from exc
