"""Helm commands in `.gitlab-ci.yml` and the local files it includes.

The configuration is assembled the way GitLab does it before anything runs: local includes merged
under the main file, `extends:` deep-merged (hashes merge, arrays replace), `default:` keys
inherited, `!reference [job, key]` replaced by what it points at, nested script arrays flattened.
Every script line keeps the file and line it was written on, so a command defined once in a hidden
template and used by three jobs is reported three times (one per job and environment) at the same
place.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.errors import RepoError
from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.lenient import GITLAB
from migrator.locate.refs.yamlpos import Located, Tagged, load_documents, read_text
from migrator.locate.shellwords import split_command_spans, tokenize
from migrator.model import HelmInvocation, Notice
from migrator.yamlguard import MAX_NODES

CI_FILE = ".gitlab-ci.yml"
_RESERVED = {
    "stages", "variables", "include", "default", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "spec",
}  # fmt: skip
_SCRIPT_KEYS = ("before_script", "script", "after_script")
_DEFAULT_KEYS = ("before_script", "after_script", "image", "services", "cache", "tags")
_MAX_DEPTH = 11  # GitLab's own limit for extends and !reference nesting


def wants(rel: str) -> bool:
    return rel == CI_FILE


def read(root: Path, rel: str = CI_FILE) -> FileRefs:
    """The helm commands of the CI configuration rooted at `rel`, and what was odd in reading
    it (GitLab's own leniencies: duplicate keys, trailing tabs). Raises RepoError when GitLab
    would refuse the configuration too."""
    notices: list[Notice] = []
    config = _load_with_includes(root, rel, seen=set(), notices=notices)
    global_vars = _variables(config.get("variables"))
    cache: dict[str, list[str]] = {}

    def reader(file: str) -> list[str]:
        if file not in cache:
            cache[file] = read_text(root, file).splitlines()
        return cache[file]

    found: list[HelmInvocation] = []
    assembly = _Assembly(config)
    for name, job in config.items():
        if not _is_job(name, job):
            continue
        resolved = assembly.job(name)
        resolved = _with_defaults(config, resolved)
        resolved = assembly.references(resolved)
        found.extend(_job_invocations(str(name), resolved, global_vars, reader))
    return FileRefs(tuple(found), tuple(notices))


@dataclass(frozen=True)
class CiJob:
    """A job as GitLab will run it, and where its top-level key is written."""

    name: str
    files: tuple[str, ...]  # files that define the key (an include and an override: two)
    resolved: dict[Any, Any]  # after extends, default: and !reference; strings are `Located`
    extended: dict[Any, Any]  # after extends and !reference only (what parents give)


def ci_jobs(root: Path, ci_file: str = CI_FILE) -> dict[str, CiJob]:
    if not (root / ci_file).is_file():
        return {}
    origins: dict[str, list[str]] = {}
    config = _load_with_includes(root, ci_file, set(), [], origins)
    assembly = _Assembly(config)
    out: dict[str, CiJob] = {}
    for name, job in config.items():
        if _is_job(name, job):
            extended = assembly.job(name)
            resolved = assembly.references(_with_defaults(config, extended))
            files = tuple(origins.get(str(name), ()))
            extended = assembly.references(extended)
            out[str(name)] = CiJob(str(name), files, resolved, extended)
    return out


def _is_job(name: Any, value: Any) -> bool:
    return (
        isinstance(name, str)
        and name not in _RESERVED
        and not name.startswith(".")
        and isinstance(value, dict)
    )


# --- assembling the configuration ----------------------------------------------------------------


def _load_with_includes(
    root: Path, rel: str, seen: set[str], notices: list[Notice],
    origins: dict[str, list[str]] | None = None,
) -> dict[Any, Any]:
    if rel in seen:
        return {}
    seen.add(rel)
    loaded = load_documents(root, rel, GITLAB)
    notices.extend(loaded.notices)
    docs = [d for d in loaded.docs if d is not None]
    # A file may start with a `spec:` header document (CI inputs) before the configuration.
    config = docs[-1] if docs else {}
    if not isinstance(config, dict):
        raise RepoError("the CI configuration is not a mapping", file=rel)
    merged: dict[Any, Any] = {}
    for include in _local_includes(root, config.get("include")):
        merged = deep_merge(merged, _load_with_includes(root, include, seen, notices, origins))
    if origins is not None:
        for key in config:
            origins.setdefault(str(key), []).append(rel)
    return dict(deep_merge(merged, {k: v for k, v in config.items() if k != "include"}))


def _local_includes(root: Path, include: Any) -> Iterator[str]:
    entries = include if isinstance(include, list) else [include] if include else []
    for entry in entries:
        if isinstance(entry, str):
            if "://" in entry:
                continue  # a remote include: not in this repo
            local = entry
        elif isinstance(entry, dict) and isinstance(entry.get("local"), str):
            local = entry["local"]
        else:
            continue  # project/template/remote/component includes live elsewhere
        pattern = local.lstrip("/")
        if any(ch in pattern for ch in "*?["):
            matches = sorted(glob.glob(pattern, root_dir=root, recursive=True))
            yield from (m for m in matches if (root / m).is_file())
        elif (root / pattern).is_file():
            yield pattern


def deep_merge(base: Any, override: Any) -> Any:
    """GitLab's merge for `extends` and includes: hashes merge by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return override


class _Assembly:
    """`extends:` and `!reference` resolved over one configuration. A parent is resolved once
    however many jobs extend it (nine jobs each extending nine others, ten levels deep, are
    otherwise billions of merges), and what one job's references expand to is bounded (they
    can nest lists as an alias bomb does)."""

    def __init__(self, config: Mapping[Any, Any]) -> None:
        self.config = config
        self._jobs: dict[Any, tuple[dict[Any, Any], int]] = {}  # name -> (resolved, height)

    def job(self, name: Any) -> dict[Any, Any]:
        """The job as its `extends:` chain makes it."""
        return self._job(name, 0)[0]

    def _job(self, name: Any, depth: int) -> tuple[dict[Any, Any], int]:
        """The job resolved, and how many `extends` levels are below it (-1: not a job)."""
        job = self.config.get(name)
        if not isinstance(job, dict):
            return {}, -1
        if depth > _MAX_DEPTH:
            raise RepoError(f"`extends` of job {name} nests too deep or loops", file=CI_FILE)
        cached = self._jobs.get(name)
        if cached is not None and depth + cached[1] <= _MAX_DEPTH:
            return cached
        # (past the limit from here: resolved again, to name the job where the limit is passed)
        parents = job.get("extends")
        parent_names = parents if isinstance(parents, list) else [parents] if parents else []
        merged: dict[Any, Any] = {}
        height = 0
        for parent in parent_names:
            resolved, below = self._job(str(parent), depth + 1)
            merged = deep_merge(merged, resolved)
            height = max(height, below + 1)
        own = {k: v for k, v in job.items() if k != "extends"}
        self._jobs[name] = (dict(deep_merge(merged, own)), height)
        return self._jobs[name]

    def references(self, node: Any) -> Any:
        """`node` with every `!reference [job, key...]` replaced by what it points at."""
        return _References(self).resolve(node, 0, None)


class _References:
    """One job's `!reference`s resolved, counting the nodes they give."""

    def __init__(self, assembly: _Assembly) -> None:
        self.assembly = assembly
        self.nodes = 0

    def resolve(self, node: Any, depth: int, within: Tagged | None) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES and within is not None:
            raise RepoError(f"refused: `!reference {list(within.items)}` expands past "
                            f"{MAX_NODES:,} nodes", file=within.file, line=within.line)
        if isinstance(node, Tagged) and node.tag == "!reference":
            if depth > _MAX_DEPTH:
                raise RepoError("`!reference` nests too deep or loops", file=node.file,
                                line=node.line)
            target: Any = self.assembly.job(node.items[0]) if node.items else None
            if target == {} and node.items:
                target = self.assembly.config.get(node.items[0])
            for key in node.items[1:]:
                target = target.get(key) if isinstance(target, dict) else None
            if target is None:
                raise RepoError(f"`!reference {list(node.items)}` points at nothing",
                                file=node.file, line=node.line)
            return self.resolve(target, depth + 1, within or node)
        if isinstance(node, dict):
            return {k: self.resolve(v, depth, within) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth, within) for v in node]
        return node


def _with_defaults(config: Mapping[Any, Any], job: dict[Any, Any]) -> dict[Any, Any]:
    default = dict(config.get("default") or {})
    for key in ("before_script", "after_script"):
        # top-level before_script/after_script are the deprecated spelling of default:
        if key not in default and key in config:
            default[key] = config[key]
    inherit = (job.get("inherit") or {}).get("default", True)
    if inherit is False:
        return job
    allowed = inherit if isinstance(inherit, list) else _DEFAULT_KEYS
    out = dict(job)
    for key in _DEFAULT_KEYS:
        if key in allowed and key in default and key not in out:
            out[key] = default[key]
    return out


def flatten_script(script: Any) -> Iterator[Any]:
    """The items of a script as GitLab runs them: nested arrays (from !reference) flattened."""
    if isinstance(script, list):
        for item in script:
            yield from flatten_script(item)
    elif script is not None:
        yield script


# --- variables -----------------------------------------------------------------------------------


def _variables(block: Any) -> dict[str, str]:
    """Static CI variables: `NAME: value` or `NAME: {value: ..., description: ...}`."""
    out: dict[str, str] = {}
    if not isinstance(block, dict):
        return out
    for name, value in block.items():
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str | int | float):
            out[str(name)] = str(value)
    return out


def _expand_all(variables: dict[str, str]) -> dict[str, str]:
    """Expand variables that use other variables, as GitLab does; drop the ones that stay open."""
    out = dict(variables)
    for _ in range(5):
        changed = False
        for name, value in list(out.items()):
            if "$" not in value:
                continue
            words = [w for w in tokenize(value) if not w.operator]
            if len(words) != 1 or not words[0].expansions:
                continue
            expanded = words[0].expand({k: v for k, v in out.items() if k != name})
            if expanded is not None and expanded != value:
                out[name] = expanded
                changed = True
        if not changed:
            break
    return {k: v for k, v in out.items() if "$" not in v}


def _environment(job: Mapping[Any, Any]) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        env = env.get("name")
    return str(env) if env is not None else None


# --- the commands --------------------------------------------------------------------------------


def _job_invocations(
    name: str,
    job: Mapping[Any, Any],
    global_vars: Mapping[str, str],
    file_lines: Callable[[str], list[str]],
) -> Iterator[HelmInvocation]:
    environment = _environment(job)
    variables = {**global_vars, **_variables(job.get("variables"))}
    predefined = {"CI_JOB_NAME": name, "CI_PROJECT_DIR": "."}
    if environment is not None and "$" not in environment:
        predefined["CI_ENVIRONMENT_NAME"] = environment
    known = _expand_all({**predefined, **variables})
    lines: list[ScriptLine] = []
    for key in _SCRIPT_KEYS:
        for item in flatten_script(job.get(key)):
            if isinstance(item, Located):
                lines.extend(script_lines(item, file_lines(item.file)))
    yield from helm_invocations_in_script(
        lines,
        known,
        source="gitlab-ci",
        context=name,
        environment=environment,
    )


def script_lines(item: Located, file_lines: list[str]) -> list[ScriptLine]:
    """Each command of one YAML script string, with the file line it starts on."""
    text = str(item)
    spans = split_command_spans(text)
    if item.style == "literal":
        # a literal block keeps its lines: the content starts on the line after `|`
        return [ScriptLine(item.file, item.line + 1 + off, text[s:e]) for off, s, e in spans]
    if "\n" not in text.strip() and item.style != "folded":
        # a plain scalar YAML folded from several lines: commands in it are found where written
        on_line = 0 < item.line <= len(file_lines) and text in file_lines[item.line - 1]
        folded = () if on_line else tuple(file_lines)
        return [ScriptLine(item.file, item.line, text[s:e], folded) for _, s, e in spans]
    # folded text: YAML joined its lines, so find each command where it is written
    out: list[ScriptLine] = []
    cursor = item.line - 1
    for _, s, e in spans:
        first = text[s:e].split(None, 1)[0]
        found = next((n for n in range(cursor, len(file_lines)) if first in file_lines[n]), cursor)
        out.append(ScriptLine(item.file, found + 1, text[s:e], tuple(file_lines)))
        cursor = found
    return out
