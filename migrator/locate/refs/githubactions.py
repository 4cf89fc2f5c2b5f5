"""Helm commands in GitHub Actions workflows (`.github/workflows/*.yml`): `run:` steps.

A step's `run:` is a shell script like a GitLab CI script: each command keeps the file line it
is written on. The context is `workflow/job/step` (the workflow's `name:` or file name, the job
id, the step's `name:`, `id:` or position); the environment is the job's `environment:` when it
is static. `${{ ... }}` expressions are evaluated by GitHub before the shell runs, so they are
run-time values like `$VAR`. Variables come from `env:` at workflow, job and step level (static
ones only); `working-directory:` (step, or `defaults.run` of the job or workflow) is where the
commands run. Steps whose shell is not a POSIX shell (pwsh, python) are not read.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from migrator.locate.refs.common import helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.gitlabci import script_lines
from migrator.locate.refs.inputs import chart_inputs
from migrator.locate.refs.lenient import GITHUB
from migrator.locate.refs.yamlpos import Located, load_text, read_text
from migrator.model import HelmInvocation

_WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_POSIX_SHELLS = ("bash", "sh")


def wants(rel: str) -> bool:
    return bool(_WORKFLOW.match(rel))


def read(root: Path, rel: str) -> FileRefs:
    text = read_text(root, rel)  # read once: parsed here, its lines located below
    loaded = load_text(text, rel, GITHUB)
    doc = next((d for d in loaded.docs if isinstance(d, dict)), None)
    if doc is None or not isinstance(doc.get("jobs"), dict):
        return FileRefs((), loaded.notices)
    lines = text.splitlines()
    workflow = str(doc.get("name") or posixpath.basename(rel))
    found: list[HelmInvocation] = []
    for job_id, job in doc["jobs"].items():
        if isinstance(job, dict):
            found.extend(_job(rel, lines, doc, workflow, str(job_id), job))
    # a chart handed to an action or a reusable workflow (`with: {chart_path: ./chart}`)
    found.extend(chart_inputs(root, rel, doc["jobs"], "github-actions"))
    return FileRefs(tuple(found), loaded.notices)


def _job(rel: str, lines: list[str], doc: Mapping[str, Any], workflow: str, job_id: str,
         job: Mapping[str, Any]) -> Iterator[HelmInvocation]:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    env_name = str(environment) if environment is not None else None
    if env_name is not None and _EXPRESSION.search(env_name):
        env_name = None
    job_vars = {**_static(doc.get("env")), **_static(job.get("env"))}
    default_dir = _run_default(job, "working-directory") or _run_default(doc, "working-directory")
    default_shell = _run_default(job, "shell") or _run_default(doc, "shell")
    for index, step in enumerate(job.get("steps") or [], start=1):
        if not isinstance(step, dict) or not isinstance(step.get("run"), Located):
            continue
        shell = str(step.get("shell") or default_shell or "bash").split(None, 1)[0]
        if posixpath.basename(shell) not in _POSIX_SHELLS:
            continue
        step_name = str(step.get("name") or step.get("id") or f"step {index}")
        directory = step.get("working-directory") or default_dir
        cwd = None
        if isinstance(directory, str) and not _EXPRESSION.search(directory):
            cwd = posixpath.normpath(directory.removeprefix("./")).lstrip("/") or "."
        yield from helm_invocations_in_script(
            script_lines(step["run"], lines),
            {**job_vars, **_static(step.get("env"))},
            source="github-actions",
            context=f"{workflow}/{job_id}/{step_name}",
            environment=env_name,
            cwd=None if cwd in (None, ".") else cwd,
        )


def _static(block: Any) -> dict[str, str]:
    """`env:` entries whose values GitHub does not compute (`${{ ... }}` ones are run time)."""
    if not isinstance(block, dict):
        return {}
    return {str(k): str(v) for k, v in block.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)
            and not _EXPRESSION.search(str(v))}


def _run_default(node: Mapping[str, Any], key: str) -> str | None:
    defaults = node.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    value = run.get(key) if isinstance(run, dict) else None
    return str(value) if isinstance(value, str) else None
