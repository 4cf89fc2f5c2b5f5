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
