"""What the merge request and the bot's commit say.

The title and description are the repo's report; the description ends with a hidden
`<!-- migrator-plan: HASH -->` marker and the commit with a `Migrator-Plan: HASH` trailer, which
is how a later run knows what it proposed. A branch a person took over gets one note saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from migrator.model import CentralInfo, RepoPlan
from migrator.mrtext import DRAFT_PREFIX
from migrator.propose.settings import ProposeSettings

PLAN_TRAILER = "Migrator-Plan"
NOTE_MARKER = "<!-- migrator:needs-attention -->"
_PLAN_MARKER = re.compile(r"<!-- migrator-plan: ([0-9A-Za-z._-]+) -->")

# (title without "Draft: ", markdown description) for one plan
Describe = Callable[[RepoPlan, CentralInfo, ProposeSettings], tuple[str, str]]


def report_description(plan: RepoPlan, central: CentralInfo,
                       settings: ProposeSettings) -> tuple[str, str]:
    """Title and description from the report module (the repo's report.md)."""
    from migrator.report.markdown import mr_title, repo_markdown

    body = repo_markdown(plan, central, plan_id=settings.plan_id,
                         tool_version=settings.tool_version)
    return mr_title(plan, central), body


def strip_draft(title: str) -> str:
    """The title without any draft prefix GitLab recognizes: `propose` adds its own."""
    for prefix in (DRAFT_PREFIX, "Draft:", "[Draft]", "(Draft)", "WIP: ", "WIP:"):
        if title.startswith(prefix):
            return title[len(prefix):].lstrip()
    return title


def commit_message(title: str, why: str, plan_hash: str) -> str:
    why = why.strip()
    message = f"{title}\n\n{why}\n\n" if why else f"{title}\n\n"
    return message + f"{PLAN_TRAILER}: {plan_hash}\n"


def plan_marker(plan_hash: str) -> str:
    return f"<!-- migrator-plan: {plan_hash} -->"


def marked_plan(description: str) -> str | None:
    """The plan hash recorded in an MR description by this tool, or None."""
    found = _PLAN_MARKER.findall(description)
    return found[-1] if found else None


def needs_attention_note(branch: str, head: str, bot_email: str) -> str:
    return (
        f"{NOTE_MARKER}\n**migrator will not push to `{branch}` any more.** Its head "
        f"`{head[:12]}` is a commit that migrator (`{bot_email}`) did not make, so this merge "
        "request now belongs to whoever pushed it. migrator leaves it alone and lists the repo as "
        "`needs-attention`. To hand it back, reset the branch to migrator's last commit; to "
        "start over, close this merge request and delete the branch."
    )
