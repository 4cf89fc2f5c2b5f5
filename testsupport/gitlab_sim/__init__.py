"""A GitLab REST v4 simulator with git over HTTP, for tests and benchmarks.

It runs on 127.0.0.1 in a thread; python-gitlab and the git CLI talk to it over real HTTP exactly
as they talk to GitLab. Projects are real bare repositories served by `git http-backend`.
See `GitLabSim` for the test-facing API and `faults` for rate limits and failures.
"""

from testsupport.gitlab_sim.faults import (
    Answer,
    BadAnswer,
    Delay,
    DropConnection,
    FailNext,
    Faults,
    Match,
    RandomFaults,
    RateLimit,
)
from testsupport.gitlab_sim.server import Exchange, LoggedRequest
from testsupport.gitlab_sim.sim import GitLabSim
from testsupport.gitlab_sim.state import (
    Issue,
    MergeRequest,
    Namespace,
    Note,
    Pipeline,
    Project,
    Token,
    User,
)

__all__ = [
    "Answer",
    "BadAnswer",
    "Delay",
    "DropConnection",
    "Exchange",
    "FailNext",
    "Faults",
    "GitLabSim",
    "Issue",
    "LoggedRequest",
    "Match",
    "MergeRequest",
    "Namespace",
    "Note",
    "Pipeline",
    "Project",
    "RandomFaults",
    "RateLimit",
    "Token",
    "User",
]
