"""Domain errors. Library code raises these; only cli.py turns them into exit codes."""

from __future__ import annotations


class MigratorError(Exception):
    """Base of every error the tool reports to a person."""


class ConfigError(MigratorError):
    """Bad settings or command-line usage (exit status 2)."""


class RepoError(MigratorError):
    """This repository cannot be processed; the message names the file and the cause."""


class GitError(MigratorError):
    """A git command failed; the message never carries credentials."""


class RenderError(MigratorError):
    """Helm could not render a chart; the message carries Helm's file:line when it gives one."""


def yaml_error(rel: str, exc: Exception) -> RepoError:
    """A RepoError for YAML that does not parse, naming the file and line when the parser did."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{rel}:{mark.line + 1}" if mark is not None else rel
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return RepoError(f"{where}: malformed YAML ({problem})")
