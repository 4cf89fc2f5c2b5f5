"""Domain errors. Library code raises these; only cli.py turns them into exit codes.

An error names what failed as data (`file`, `line`, `cause`), so that a stage can turn it into an
outcome on the smallest thing that failed; `str()` gives the one line a person reads.
"""

from __future__ import annotations


class MigratorError(Exception):
    """Base of every error the tool reports to a person."""

    def __init__(self, cause: str, *, file: str | None = None, line: int | None = None) -> None:
        self.cause = cause
        self.file = file
        self.line = line
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {cause}" if file else cause)


class ConfigError(MigratorError):
    """Bad settings or command-line usage (exit status 2)."""


class RepoError(MigratorError):
    """This repository (or one of its files) cannot be processed; says which and why."""


class GitError(MigratorError):
    """A git command failed; the message never carries credentials."""


class RenderError(MigratorError):
    """Helm could not render a chart; the message carries Helm's file:line when it gives one."""


def yaml_error(rel: str, exc: Exception) -> RepoError:
    """A RepoError for YAML that does not parse, naming the file and line when the parser did."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return RepoError(f"malformed YAML ({problem})", file=rel,
                     line=mark.line + 1 if mark is not None else None)
