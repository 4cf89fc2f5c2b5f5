"""Which plans `apply` proposes, and the branch it proposes them on."""

from __future__ import annotations

from migrator.errors import ConfigError
from migrator.model import CentralInfo, RepoPlan, Verdict
from migrator.propose.settings import ProposeSettings


def eligible(plan: RepoPlan, settings: ProposeSettings) -> str | None:
    """None when the plan may be proposed, else why not."""
    if plan.verdict is Verdict.BLOCKED and not settings.force:
        return "verdict blocked (use force to propose it as a draft)"
    if plan.verdict not in (Verdict.READY, Verdict.REVIEW, Verdict.BLOCKED):
        return f"verdict {plan.verdict.value}"
    if not plan.patch or not plan.plan_hash or not plan.commit:
        return "nothing to propose (no patch, plan hash or base commit)"
    return None


def branch_name(settings: ProposeSettings, central: CentralInfo) -> str:
    name = settings.branch_template.format(central=central.name, version=central.target_version)
    if not name or ".." in name or name.startswith("/") or " " in name:
        raise ConfigError(f"branch template gives an invalid branch name: {name!r}")
    return name
