"""Which environment each invocation deploys, and which values files the rewritten command names.

One written command can serve several environments: a hidden CI template extended by a job per
environment, or a script taking the environment as an argument (`-f values-$ENV.yaml`). It is
rewritten once, so its new `-f` list must hold for all of them: either the same files, or files
that differ only by the value of a variable the command already uses, which then stays in the
new path (`-f deploy/values-$ENV.yaml`). For a command whose values files are chosen at run time,
the variable is taken to carry the environment's name, as the fork's file names did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from migrator.locate.shellwords import Word
from migrator.model import HelmInvocation
from migrator.rewrite.target import RewriteTarget


@dataclass(frozen=True)
class EnvDeploy:
    invocation: HelmInvocation
    env: str
    values_files: tuple[str, ...]  # the new files, expanded for this environment
    variables: tuple[tuple[str, str], ...] = ()  # run-time values this environment implies


@dataclass(frozen=True)
class ValuesChoice:
    files: tuple[str, ...]  # as the rewritten command writes them (may hold `${VAR}`)
    deploys: tuple[EnvDeploy, ...]


def env_for(inv: HelmInvocation, target: RewriteTarget, shared: bool) -> str | None:
    """The environment of one invocation. When several jobs share one written command, the
    engine's (file, line) map cannot tell them apart: the job's own environment decides."""
    if shared and inv.environment:
        for name in (inv.environment, inv.environment.rsplit("/", 1)[-1]):
            if name in target.env_values:
                return name
    env = target.env_of.get((inv.file, inv.line))
    if env is not None:
        return env
    if inv.environment and inv.environment in target.env_values:
        return inv.environment
    if len(target.env_values) == 1:
        return next(iter(target.env_values))
    return None


def choose_values(
    invs: Sequence[HelmInvocation], values_words: Sequence[Word], target: RewriteTarget
) -> ValuesChoice | str:
    """The new values files of a command written once for `invs`, or why there is none."""
    shared = len({inv.environment for inv in invs}) > 1
    variables = [e.name for w in values_words for e in w.expansions if e.name]
    variables += [v for f in (f for i in invs for f in i.values_files) for v in _PARAMS.findall(f)]
    variables = list(dict.fromkeys(variables))
    entries: list[tuple[EnvDeploy, dict[str, str]]] = []
    for inv in invs:
        if any("$" in f for f in inv.values_files):
            open_vars = [v for v in variables if any(_mentions(f, v) for f in inv.values_files)]
            if len(open_vars) != 1:
                return f"values files chosen at run time: {' '.join(inv.values_files)}"
            for name in sorted(target.env_values):
                implied = ((open_vars[0], name),)
                deploy = EnvDeploy(inv, name, target.env_values[name], implied)
                entries.append((deploy, {open_vars[0]: name}))
            continue
        env = env_for(inv, target, shared)
        if env is None or env not in target.env_values:
            return f"no environment known for this deploy ({inv.environment or inv.context})"
        known = _infer(values_words, inv.values_files)
        entries.append((EnvDeploy(inv, env, target.env_values[env]), known))
    deploys = tuple(e for e, _ in entries)
    # a command that chose its file by a variable keeps choosing by it when it can
    for var in dict.fromkeys(variables):
        pattern = _pattern(entries, var)
        if pattern is not None and any("$" in f for f in pattern):
            return ValuesChoice(pattern, deploys)
    lists = {e.values_files for e, _ in entries}
    if len(lists) == 1:
        return ValuesChoice(next(iter(lists)), deploys)
    envs = ", ".join(sorted({e.env for e, _ in entries}))
    return (
        f"one command deploys several environments ({envs}) whose new values files it cannot "
        "name with the variables it already uses"
    )


_PARAMS = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9*@])")


def spelled(var: str) -> str:
    """How a rewritten path refers to a variable: `${NAME}`; `$*`, `$1` for parameters."""
    return "${" + var + "}" if var.isidentifier() else "$" + var


def _mentions(text: str, var: str) -> bool:
    return bool(re.search(r"\$\{?" + re.escape(var) + r"(?![A-Za-z0-9_])", text))


def _infer(values_words: Sequence[Word], files: Sequence[str]) -> dict[str, str]:
    """Values of the variables in the written `-f` words, read back from the resolved files."""
    out: dict[str, str] = {}
    written = [w for w in values_words]
    if len(written) != len(files):
        return out
    for word, resolved in zip(written, files, strict=True):
        regex = ""
        pos = 0
        names: list[str] = []
        for e in word.expansions:
            regex += re.escape(word.value[pos : e.start])
            if e.name and e.name not in names:
                regex += f"(?P<{e.name}>.*?)"
                names.append(e.name)
            else:
                regex += ".*?"
            pos = e.end
        regex += re.escape(word.value[pos:])
        m = re.fullmatch(regex, resolved)
        if m:
            out.update({k: v for k, v in m.groupdict().items() if v})
    return out


def _pattern(entries: list[tuple[EnvDeploy, dict[str, str]]], var: str) -> tuple[str, ...] | None:
    lengths = {len(e.values_files) for e, _ in entries}
    if len(lengths) != 1 or any(var not in known for _, known in entries):
        return None
    out: list[str] = []
    for j in range(lengths.pop()):
        candidates = set()
        for e, known in entries:
            f = e.values_files[j]
            # the value as a whole name in the path (`values-prod.yaml`, `prod/values.yaml`)
            bounded = re.compile(r"(?<![A-Za-z0-9])" + re.escape(known[var]) + r"(?![A-Za-z0-9])")
            if known[var] and len(bounded.findall(f)) == 1:
                candidates.add(bounded.sub(lambda _m: spelled(var), f))
            else:
                candidates.add(f)
        if len(candidates) != 1:
            return None
        out.append(candidates.pop())
    return tuple(out)
