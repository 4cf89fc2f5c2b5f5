"""What `apply` is told: the forge, the branch, the bot's identity, the MR's fields, the wave."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.forge.local import LocalForgeSettings
from migrator.gitlab_api import GitLabSettings
from migrator.mrtext import DESCRIPTION_LIMIT


@dataclass(frozen=True)
class ProposeSettings:
    forge: GitLabSettings | LocalForgeSettings | None = None
    branch_template: str = "migrator/{central}-{version}"
    bot_name: str = "migrator-bot"
    bot_email: str = "migrator-bot@users.noreply.gitlab.invalid"
    labels: tuple[str, ...] = ("migrator",)
    assignee_ids: tuple[int, ...] = ()
    reviewer_ids: tuple[int, ...] = ()
    remove_source_branch: bool = True
    squash: bool = True
    force: bool = False  # propose `blocked` repos too (as drafts)
    limit: int | None = None  # open at most this many new MRs in this run
    canary: int | None = None  # open this many new MRs, then stop the run
    description_limit: int = DESCRIPTION_LIMIT  # UTF-8 bytes
    # Where the full report lives, for descriptions cut to the limit: "{slug}" and "{name}"
    # are filled in, e.g. a CI artifact URL "https://…/artifacts/file/out/repos/{slug}/report.md".
    report_link: str | None = None
    # GROUP/PROJECT of the campaign dashboard issue whose ticks fill `asked` (the CLI reads it)
    dashboard_issue: str | None = None
    plan_id: str = ""
    tool_version: str = "0.0.0"
    # What people asked for on the campaign dashboard: (repo name, "open" | "rebase" |
    # "recreate"). Those repos go first, past --limit and --canary.
    asked: frozenset[tuple[str, str]] = frozenset()

    def asks(self, repo: str) -> frozenset[str]:
        return frozenset(action for name, action in self.asked if name == repo)
