"""open_forge: the one place a forge is made from settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.errors import ConfigError
from migrator.forge import open_forge
from migrator.forge.gitlab import GitLabForge
from migrator.forge.local import LocalForge, LocalForgeSettings
from migrator.gitlab_api import GitLabSettings
from migrator.journal import Journal
from migrator.redact import REDACTED
from migrator.workdir import WorkDir

# Not shaped like a credential, so only `forbid` can keep it out of the journal.
TOKEN = "plain-value-of-the-open-forge-token"


def test_review_bundle_settings_give_the_local_forge(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        forge = open_forge(LocalForgeSettings(tmp_path / "review"), journal)
    assert isinstance(forge, LocalForge)


def test_gitlab_settings_give_the_gitlab_forge_and_the_journal_never_stores_its_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    work = WorkDir(tmp_path / "work")
    with Journal.open(work) as journal:
        forge = open_forge(GitLabSettings("https://gitlab.example.com"), journal)
        assert isinstance(forge, GitLabForge)
        journal.intent("shop/orders", "push", "b", {"note": f"x{TOKEN}x"})
        (effect,) = journal.effects("shop/orders")
    assert effect.detail == {"note": f"x{REDACTED}x"}
    assert TOKEN.encode() not in work.journal.read_bytes()


def test_gitlab_without_a_token_in_the_environment_is_a_configuration_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    with Journal.open(WorkDir(tmp_path / "work")) as journal, pytest.raises(ConfigError):
        open_forge(GitLabSettings("https://gitlab.example.com"), journal)
