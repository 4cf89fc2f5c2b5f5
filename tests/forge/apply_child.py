"""`apply` in a child process, for the kill -9 test: python -m tests.forge.apply_child CONFIG.

CONFIG (JSON): {"url", "work", "repos": [RepoRef fields...], "clones": {slug: path}}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.model import RepoRef
from migrator.propose.apply import run_apply
from migrator.propose.settings import ProposeSettings
from migrator.workdir import WorkDir
from tests.forge.fleetkit import CENTRAL, describe, sim_plans


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    repos = [RepoRef(**fields) for fields in config["repos"]]
    clones = {slug: Path(p) for slug, p in config["clones"].items()}
    settings = ProposeSettings(forge=GitLabSettings(config["url"],
                                                    retry=RetryPolicy(backoff=0.01)))
    run_apply(sim_plans(repos, clones), CENTRAL, settings, WorkDir(Path(config["work"])), clones,
              describe=describe)


if __name__ == "__main__":
    main(sys.argv[1])
