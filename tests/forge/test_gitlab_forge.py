"""GitLabForge against the simulator: GitLab's answers, and POSTs whose fate is unknown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import git
from migrator.credentials import git_env
from migrator.forge import ForgeError, MergeRequestExists, MrSpec
from migrator.forge.gitlab import GitLabForge
from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.model import RepoRef
from tests.forge.fleetkit import HUMAN, app_files, make_repo
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-forgeTestToken0001"
PATH = "platform/orders"


Env = tuple[GitLabSim, GitLabForge, RepoRef, Path]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    src = make_repo(tmp_path / "src", app_files("orders"))
    git.run(["branch", "feature"], cwd=src)
    with GitLabSim(tmp_path / "sim") as sim:
        sim.add_token(TOKEN, user="migrator-bot")
        project = sim.add_project(PATH, source_repo=src)
        repo = RepoRef(name=PATH, slug="platform__orders", url=f"{sim.url}/{PATH}.git",
                       default_branch="main", project_id=project.id)
        clone = tmp_path / "clone"
        git.clone_or_update(repo.url, clone, "main", env=git_env(origin=sim.url))
        forge = GitLabForge(GitLabSettings(sim.url, retry=RetryPolicy(backoff=0.01)))
        sim.reset_log()
        yield sim, forge, repo, clone


def spec(**kw: object) -> MrSpec:
    fields: dict[str, object] = {"source_branch": "feature", "target_branch": "main",
                                 "title": "Use the central chart", "description": "report",
                                 "labels": ("migrator", "migrator::ready")}
    fields.update(kw)
    return MrSpec(**fields)  # type: ignore[arg-type]


def test_a_second_create_for_the_same_branch_raises_with_the_existing_iid(env: Env) -> None:
    sim, forge, repo, _ = env
    first = forge.create_mr(repo, spec())
    with pytest.raises(MergeRequestExists) as exists:
        forge.create_mr(repo, spec(title="again"))
    assert exists.value.iid == first.iid
    assert len(sim.merge_requests(PATH)) == 1


def test_a_create_whose_answer_is_lost_is_found_not_repeated(env: Env) -> None:
    sim, forge, repo, _ = env
    sim.faults.drop(method="POST", route="/projects/:id/merge_requests", after_processing=True)
    mr = forge.create_mr(repo, spec())
    assert mr.iid == 1 and mr.state == "opened"
    assert len(sim.merge_requests(PATH)) == 1
    assert sim.request_counts[("POST", "/projects/:id/merge_requests")] == 1


def test_a_create_refused_before_processing_is_posted_again(env: Env) -> None:
    sim, forge, repo, _ = env
    sim.faults.fail_next(2, status=502, method="POST", route="/projects/:id/merge_requests")
    mr = forge.create_mr(repo, spec())
    assert mr.title == "Use the central chart"
    assert sim.request_counts[("POST", "/projects/:id/merge_requests")] == 3
    assert len(sim.merge_requests(PATH)) == 1


def test_a_note_whose_answer_is_lost_is_not_posted_twice(env: Env) -> None:
    sim, forge, repo, _ = env
    mr = forge.create_mr(repo, spec())
    sim.faults.drop(method="POST", route="/projects/:id/merge_requests/:merge_request_iid/notes",
                    after_processing=True)
    forge.add_note(repo, mr.iid, "hello <!-- m1 -->", "<!-- m1 -->")
    assert [n.body for n in sim.notes(PATH, mr.iid) if "m1" in n.body] == ["hello <!-- m1 -->"]
    assert forge.has_note(repo, mr.iid, "<!-- m1 -->")
    assert not forge.has_note(repo, mr.iid, "<!-- m2 -->")


def test_find_prefers_the_open_merge_request_and_reports_the_branch_head(env: Env) -> None:
    sim, forge, repo, _ = env
    old = forge.create_mr(repo, spec())
    forge.update_mr(repo, old.iid, {"state_event": "close"})
    new = forge.create_mr(repo, spec(title="Draft: second"))
    found = forge.find_mr(repo, "feature")
    assert found is not None and found.iid == new.iid and found.draft
    assert found.sha == sim.branches(PATH)["feature"]
    assert forge.find_mr(repo, "nothing-here") is None


def test_update_sets_labels_and_title(env: Env) -> None:
    sim, forge, repo, _ = env
    mr = forge.create_mr(repo, spec())
    updated = forge.update_mr(repo, mr.iid, {"title": "Draft: new", "labels": ["a", "b"]})
    assert updated.draft and set(updated.labels) == {"a", "b"}
    assert sim.merge_requests(PATH)[0].title == "Draft: new"


def test_a_push_only_moves_the_branch_from_where_it_was_expected(env: Env) -> None:
    sim, forge, repo, clone = env
    base = git.head(clone)
    sha = git.commit_patch(clone, base, git.patch_for(clone, {"x.txt": b"x\n"}), "bot change\n",
                           "bot", "bot@example.com", env=forge.commit_env())
    assert forge.push(repo, clone, sha, "migrator/x", None)
    assert sim.branches(PATH)["migrator/x"] == sha
    assert forge.branch_head(repo, clone, "migrator/x") == sha
    other = git.commit_patch(clone, base, git.patch_for(clone, {"y.txt": b"y\n"}), "again\n",
                             "bot", "bot@example.com", env=forge.commit_env())
    assert not forge.push(repo, clone, other, "migrator/x", None)  # exists: lease says no
    assert not forge.push(repo, clone, other, "migrator/x", base)  # not where we thought
    assert sim.branches(PATH)["migrator/x"] == sha
    assert forge.push(repo, clone, other, "migrator/x", sha)
    assert sim.branches(PATH)["migrator/x"] == other


def test_the_head_commit_of_a_branch_tells_who_made_it(env: Env) -> None:
    _, forge, repo, clone = env
    commit = forge.head_commit(repo, clone, "feature")
    assert commit is not None and commit.author_email == HUMAN["GIT_AUTHOR_EMAIL"]
    assert forge.head_commit(repo, clone, "no-such-branch") is None


def test_an_unknown_project_is_reported_with_its_name(env: Env) -> None:
    _, forge, _, _ = env
    ghost = RepoRef(name="platform/ghost", slug="g", url="", project_id=999999)
    with pytest.raises(ForgeError, match=r"^platform/ghost: listing merge requests failed.*404"):
        forge.find_mr(ghost, "feature")


def test_the_client_slows_down_before_gitlab_has_to_say_429(env: Env) -> None:
    sim, forge, repo, _ = env
    limiter = sim.faults.rate_limit(limit=5, period=1.0)
    for _ in range(12):
        forge.find_mr(repo, "feature")
    assert limiter.throttled == 0
    assert not [e for e in sim.exchanges if e.status == 429]


def test_git_is_not_run_against_a_clone_whose_origin_left_the_gitlab_instance(env: Env) -> None:
    sim, forge, repo, clone = env
    git.run(["remote", "set-url", "--", "origin", "http://127.0.0.1:9/platform/orders.git"],
            cwd=clone)
    with pytest.raises(ForgeError, match=r"platform/orders: reading the branch refused: .*"
                                         r"outside the GitLab instance"):
        forge.branch_head(repo, clone, "main")
    with pytest.raises(ForgeError, match="pushing the branch refused"):
        forge.push(repo, clone, git.head(clone), "migrator/x", None)
