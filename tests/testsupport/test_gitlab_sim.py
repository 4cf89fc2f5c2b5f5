"""The GitLab simulator, exercised the way the tool uses GitLab: python-gitlab and git over HTTP."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest
import requests
from gitlab.v4.objects import Project as GlProject

from testsupport.gitlab_sim import GitLabSim, RandomFaults
from testsupport.gitlab_sim.faults import RequestInfo

RW = "rw-token-123"
RO = "ro-token-456"
CREDENTIAL_HELPER = '!f() { echo username=oauth2; echo "password=$GITLAB_TOKEN"; }; f'


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    git("add", name, cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main (two commits), `feature` (adds a file), `clash` (edits main's line differently)."""
    repo = tmp_path_factory.mktemp("source") / "orders"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.email", "dev@example.com", cwd=repo)
    git("config", "user.name", "Dev", cwd=repo)
    commit_file(repo, "values.yaml", "replicas: 1\n", "Initial chart values")
    git("checkout", "-q", "-b", "clash", cwd=repo)
    commit_file(repo, "values.yaml", "replicas: 3\n", "Scale to three")
    git("checkout", "-q", "main", cwd=repo)
    commit_file(repo, "values.yaml", "replicas: 2\n", "Scale to two\n\nSigned-off-by: Dev <d@e.f>")
    git("checkout", "-q", "-b", "feature", cwd=repo)
    commit_file(repo, "README.md", "orders\n", "Add readme")
    git("checkout", "-q", "main", cwd=repo)
    return repo


@pytest.fixture
def sim(tmp_path: Path, source_repo: Path) -> Iterator[GitLabSim]:
    with GitLabSim(tmp_path) as running:
        running.add_token(RW, scopes=("api",), user="migrator-bot")
        running.add_token(RO, scopes=("read_api",), user="reader")
        running.add_group("platform")
        running.add_group("apps", parent="platform")
        running.add_project("platform/apps/orders", source_repo=source_repo, topics=("helm",))
        yield running
        assert running.errors == []


def client(sim: GitLabSim, token: str = RW, **kwargs: object) -> gitlab.Gitlab:
    return gitlab.Gitlab(sim.url, private_token=token, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def orders(sim: GitLabSim) -> GlProject:
    return client(sim).projects.get("platform/apps/orders")


# -- groups, projects, pagination -----------------------------------------------------------------


def test_group_listing_with_subgroups_follows_link_headers_past_100_projects(
    sim: GitLabSim,
) -> None:
    for i in range(110):
        sim.add_project(f"platform/apps/svc-{i:03d}")
    sim.add_project("platform/direct")
    group = client(sim).groups.get("platform")

    everything = group.projects.list(include_subgroups=True, get_all=True, per_page=100)
    direct = group.projects.list(get_all=True)
    lazy = group.projects.list(include_subgroups=True, iterator=True, per_page=50)

    assert len(everything) == 112
    assert len({p.id for p in everything}) == 112
    assert [p.path_with_namespace for p in direct] == ["platform/direct"]
    assert lazy.total == 112 and lazy.total_pages == 3
    assert sim.request_counts[("GET", "/groups/:id/projects")] == 2 + 1 + 1


def test_pagination_headers_on_a_middle_page_are_gitlabs(sim: GitLabSim) -> None:
    for i in range(7):
        sim.add_project(f"platform/apps/svc-{i}")
    url = f"{sim.api_url}/groups/platform%2Fapps/projects"

    response = requests.get(
        url,
        params={"per_page": "3", "page": "2", "order_by": "id", "sort": "asc", "simple": "true"},
        headers={"PRIVATE-TOKEN": RW},
        timeout=5,
    )

    assert response.status_code == 200
    assert len(response.json()) == 3
    assert sim.requests[-1] == (
        "GET",
        "/api/v4/groups/platform%2Fapps/projects",
        {"per_page": "3", "page": "2", "order_by": "id", "sort": "asc", "simple": "true"},
    )
    headers = response.headers
    assert (headers["X-Page"], headers["X-Per-Page"]) == ("2", "3")
    assert (headers["X-Prev-Page"], headers["X-Next-Page"]) == ("1", "3")
    assert (headers["X-Total"], headers["X-Total-Pages"]) == ("8", "3")
    links = requests.utils.parse_header_links(headers["Link"])
    by_rel = {link["rel"]: link["url"] for link in links}
    assert set(by_rel) == {"prev", "next", "first", "last"}
    assert by_rel["next"].startswith(url + "?")
    assert "page=3" in by_rel["next"] and "order_by=id" in by_rel["next"]
    assert "page=3" in by_rel["last"] and "page=1" in by_rel["first"]


def test_last_page_has_no_next_link_and_empty_next_page_header(sim: GitLabSim) -> None:
    response = requests.get(
        f"{sim.api_url}/projects",
        params={"per_page": 100},
        headers={"PRIVATE-TOKEN": RW},
        timeout=5,
    )

    rels = {link["rel"] for link in requests.utils.parse_header_links(response.headers["Link"])}
    assert rels == {"first", "last"}
    assert response.headers["X-Next-Page"] == ""
    assert response.headers["X-Total"] == "1"


def test_group_listing_filters_archived_forks_and_topics(sim: GitLabSim) -> None:
    sim.add_project("platform/apps/old", archived=True, topics=("helm",))
    sim.add_project("platform/apps/orders-fork", forked_from="platform/apps/orders")
    sim.add_project("platform/apps/web", topics=("helm", "frontend"))
    group = client(sim).groups.get("platform")

    active = group.projects.list(include_subgroups=True, archived=False, get_all=True)
    helm = group.projects.list(include_subgroups=True, topic="helm", get_all=True)
    both = group.projects.list(include_subgroups=True, topic="helm,frontend", get_all=True)
    by_path = {p.path: p for p in active}

    assert "old" not in by_path and {"orders", "orders-fork", "web"} <= set(by_path)
    assert {p.path for p in helm} == {"orders", "old", "web"}
    assert [p.path for p in both] == ["web"]
    fork = by_path["orders-fork"].attributes
    assert fork["forked_from_project"]["path_with_namespace"] == "platform/apps/orders"
    assert "forked_from_project" not in by_path["orders"].attributes


def test_simple_view_leaves_out_archived_and_fork_fields(sim: GitLabSim) -> None:
    sim.add_project("platform/apps/orders-fork", forked_from="platform/apps/orders")

    simple = (
        client(sim)
        .groups.get("platform")
        .projects.list(include_subgroups=True, simple=True, get_all=True)
    )

    assert simple and all("archived" not in p.attributes for p in simple)
    assert all("forked_from_project" not in p.attributes for p in simple)
    assert {"id", "path_with_namespace", "http_url_to_repo", "namespace"} <= set(
        simple[0].attributes
    )


def test_project_is_found_by_encoded_path_or_id_and_missing_one_is_404(sim: GitLabSim) -> None:
    gl = client(sim)

    by_path = gl.projects.get("platform/apps/orders")
    by_id = gl.projects.get(by_path.id)
    missing = requests.get(
        f"{sim.api_url}/projects/platform%2Fapps%2Fnope",
        headers={"PRIVATE-TOKEN": RW},
        timeout=5,
    )

    assert by_id.path_with_namespace == "platform/apps/orders"
    assert by_path.namespace["full_path"] == "platform/apps"
    assert by_path.default_branch == "main"
    assert by_path.topics == ["helm"]
    assert by_path.http_url_to_repo == f"{sim.url}/platform/apps/orders.git"
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Project Not Found"})


def test_subgroups_and_descendant_groups(sim: GitLabSim) -> None:
    sim.add_group("platform/apps/legacy")
    group = client(sim).groups.get("platform")

    subgroups = [g.full_path for g in group.subgroups.list(get_all=True)]
    descendants = [g.full_path for g in group.descendant_groups.list(get_all=True)]

    assert subgroups == ["platform/apps"]
    assert sorted(descendants) == ["platform/apps", "platform/apps/legacy"]


# -- repository -----------------------------------------------------------------------------------


def test_creating_an_existing_branch_is_400_branch_already_exists(orders: GlProject) -> None:
    orders.branches.create({"branch": "migrate/app-template", "ref": "main"})

    with pytest.raises(gitlab.GitlabCreateError) as raised:
        orders.branches.create({"branch": "migrate/app-template", "ref": "main"})

    assert raised.value.response_code == 400
    assert raised.value.error_message == "Branch already exists"


def test_branch_create_without_ref_is_a_grape_missing_parameter_error(sim: GitLabSim) -> None:
    response = requests.post(
        f"{sim.api_url}/projects/platform%2Fapps%2Forders/repository/branches",
        json={"branch": "x"},
        headers={"PRIVATE-TOKEN": RW},
        timeout=5,
    )

    assert (response.status_code, response.json()) == (400, {"error": "ref is missing"})


def test_branches_come_from_the_bare_repository(
    sim: GitLabSim, orders: GlProject, source_repo: Path
) -> None:
    created = orders.branches.create({"branch": "migrate/x", "ref": "feature"})
    fetched = orders.branches.get("migrate/x")

    assert created.commit["id"] == git("rev-parse", "feature", cwd=source_repo)
    assert fetched.commit["title"] == "Add readme"
    assert sim.branches("platform/apps/orders")["migrate/x"] == created.commit["id"]
    main = orders.branches.get("main")
    assert main.default and main.protected and not main.merged
    with pytest.raises(gitlab.GitlabDeleteError) as raised:
        orders.branches.delete("main")
    assert raised.value.response_code == 405
    orders.branches.delete("migrate/x")
    assert "migrate/x" not in sim.branches("platform/apps/orders")


def test_commits_carry_authors_parents_and_trailers(orders: GlProject, source_repo: Path) -> None:
    commits = orders.commits.list(ref_name="main", get_all=True)
    head = orders.commits.get("main")

    assert [c.title for c in commits] == ["Scale to two", "Initial chart values"]
    assert head.id == git("rev-parse", "main", cwd=source_repo)
    assert head.author_name == "Dev" and head.author_email == "dev@example.com"
    assert head.parent_ids == [commits[1].id]
    assert head.trailers == {"Signed-off-by": "Dev <d@e.f>"}
    assert head.stats == {"additions": 1, "deletions": 1, "total": 2}


# -- merge requests -------------------------------------------------------------------------------


def test_second_open_mr_for_a_source_branch_is_409_with_a_message_list(orders: GlProject) -> None:
    first = orders.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Move to app-template"}
    )

    with pytest.raises(gitlab.GitlabCreateError) as raised:
        orders.mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "Again"}
        )

    expected = f"Another open merge request already exists for this source branch: !{first.iid}"
    # python-gitlab passes GitLab's message through as is: here a list, not a string.
    message: object = raised.value.error_message
    assert raised.value.response_code == 409
    assert message == [expected]
    assert len(orders.mergerequests.list(get_all=True)) == 1


def test_closing_frees_the_source_branch_and_reopening_the_old_one_conflicts(
    orders: GlProject,
) -> None:
    first = orders.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "One"}
    )
    first.state_event = "close"
    first.save()
    orders.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Two"}
    )

    first.state_event = "reopen"
    with pytest.raises(gitlab.GitlabUpdateError) as raised:
        first.save()

    assert raised.value.response_code == 409
    assert orders.mergerequests.get(first.iid).state == "closed"


def test_mrs_are_listed_by_source_branch_state_and_labels(orders: GlProject) -> None:
    orders.branches.create({"branch": "migrate/app-template", "ref": "feature"})
    migration = orders.mergerequests.create(
        {
            "source_branch": "migrate/app-template",
            "target_branch": "main",
            "title": "Move to app-template",
            "labels": "migration,helm",
        }
    )
    orders.mergerequests.create({"source_branch": "feature", "target_branch": "main", "title": "x"})

    by_branch = orders.mergerequests.list(source_branch="migrate/app-template", state="opened")
    by_label = orders.mergerequests.list(labels=["migration"], get_all=True)
    merged = orders.mergerequests.list(state="merged", get_all=True)

    assert [m.iid for m in by_branch] == [migration.iid]
    assert [m.iid for m in by_label] == [migration.iid]
    assert merged == []
    assert migration.labels == ["helm", "migration"]
    assert migration.author["username"] == "migrator-bot"
    assert migration.web_url.endswith(f"/platform/apps/orders/-/merge_requests/{migration.iid}")


def test_assignees_and_reviewers_keep_only_known_users(sim: GitLabSim, orders: GlProject) -> None:
    reviewer = sim.add_user("app-owner")
    bot = sim.add_user("migrator-bot")

    mr = orders.mergerequests.create(
        {
            "source_branch": "feature",
            "target_branch": "main",
            "title": "Add readme",
            "assignee_ids": [bot.id, 999999],
            "reviewer_ids": [reviewer.id],
        }
    )

    assert [a["username"] for a in mr.assignees] == ["migrator-bot"]
    assert [r["username"] for r in mr.reviewers] == ["app-owner"]
    assert mr.assignee["id"] == bot.id


def test_draft_follows_the_title_prefix(orders: GlProject) -> None:
    mr = orders.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Draft: Move charts"}
    )
    assert (mr.draft, mr.work_in_progress, mr.detailed_merge_status) == (
        True,
        True,
        "draft_status",
    )

    mr.title = "Move charts"
    mr.save()
    ready = orders.mergerequests.get(mr.iid)

    assert (ready.draft, ready.detailed_merge_status, ready.has_conflicts) == (
        False,
        "mergeable",
        False,
    )
    system = [n.body for n in ready.notes.list(get_all=True) if n.system]
    assert "marked this merge request as **ready**" in system


def test_merge_writes_a_merge_commit_to_the_target_branch(
    sim: GitLabSim, orders: GlProject, source_repo: Path
) -> None:
    mr = orders.mergerequests.create(
        {
            "source_branch": "feature",
            "target_branch": "main",
            "title": "Add readme",
            "remove_source_branch": True,
        }
    )
    old_main = git("rev-parse", "main", cwd=source_repo)

    mr.merge()
    merged = orders.mergerequests.get(mr.iid)
    heads = sim.branches("platform/apps/orders")
    merge_commit = orders.commits.get(heads["main"])

    assert merged.state == "merged" and merged.merged_at
    assert merged.merge_commit_sha == heads["main"]
    assert merge_commit.parent_ids == [old_main, git("rev-parse", "feature", cwd=source_repo)]
    assert "feature" not in heads
    assert merged.detailed_merge_status == "not_open"


def test_conflicting_mr_reports_conflict_and_refuses_to_merge(orders: GlProject) -> None:
    mr = orders.mergerequests.create(
        {"source_branch": "clash", "target_branch": "main", "title": "Scale"}
    )

    assert (mr.has_conflicts, mr.detailed_merge_status, mr.merge_status) == (
        True,
        "conflict",
        "cannot_be_merged",
    )
    with pytest.raises(gitlab.GitlabMRClosedError) as raised:
        mr.merge()
    assert raised.value.response_code == 422


def test_pipeline_status_drives_head_pipeline_and_ci_gate(sim: GitLabSim) -> None:
    sim.add_project(
        "platform/apps/gated",
        source_repo=sim.repo_path("platform/apps/orders"),
        only_allow_merge_if_pipeline_succeeds=True,
    )
    project = client(sim).projects.get("platform/apps/gated")
    mr = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add readme"}
    )
    statuses = [project.mergerequests.get(mr.iid).detailed_merge_status]

    running = sim.set_pipeline("platform/apps/gated", mr.iid, status="running")
    statuses.append(project.mergerequests.get(mr.iid).detailed_merge_status)
    sim.set_pipeline("platform/apps/gated", mr.iid, status="success")
    final = project.mergerequests.get(mr.iid)

    assert statuses + [final.detailed_merge_status] == [
        "ci_must_pass",
        "ci_still_running",
        "mergeable",
    ]
    assert final.head_pipeline["id"] == running.id
    assert final.head_pipeline["status"] == "success"
    assert final.head_pipeline["web_url"].endswith(f"/-/pipelines/{running.id}")
    listed = project.pipelines.list(get_all=True)
    assert [(p.id, p.status, p.sha) for p in listed] == [(running.id, "success", final.sha)]


def test_notes_are_created_and_listed_newest_first(orders: GlProject) -> None:
    mr = orders.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add readme"}
    )
    mr.notes.create({"body": "first"})
    mr.notes.create({"body": "second"})

    bodies = [n.body for n in mr.notes.list(get_all=True)]

    assert bodies == ["second", "first"]
    assert orders.mergerequests.get(mr.iid).user_notes_count == 2


# -- authentication -------------------------------------------------------------------------------


def test_read_only_token_reads_but_every_write_is_403(sim: GitLabSim) -> None:
    project = client(sim, RO).projects.get("platform/apps/orders")

    with pytest.raises(gitlab.GitlabCreateError) as raised:
        project.branches.create({"branch": "x", "ref": "main"})

    assert raised.value.response_code == 403
    body = raised.value.response_body
    assert b"insufficient_scope" in (body if isinstance(body, bytes) else b"")
    assert "x" not in sim.branches("platform/apps/orders")


def test_reporter_with_an_api_token_gets_403_forbidden_on_writes(sim: GitLabSim) -> None:
    sim.add_token("reporter-token", scopes=("api",), user="auditor", role="reporter")
    project = client(sim).projects.get("platform/apps/orders")
    mr = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add readme"}
    )
    as_reporter = client(sim, "reporter-token").projects.get("platform/apps/orders")

    with pytest.raises(gitlab.GitlabCreateError) as raised:
        as_reporter.mergerequests.create(
            {"source_branch": "clash", "target_branch": "main", "title": "Nope"}
        )
    note = as_reporter.mergerequests.get(mr.iid).notes.create({"body": "looks fine"})

    assert raised.value.response_code == 403
    assert raised.value.error_message == "403 Forbidden"
    assert note.author["username"] == "auditor"


def test_unknown_token_is_401(sim: GitLabSim) -> None:
    with pytest.raises(gitlab.GitlabAuthenticationError) as raised:
        client(sim, "not-a-token").auth()

    assert raised.value.response_code == 401
    assert raised.value.error_message == "401 Unauthorized"


def test_anonymous_requests_see_no_private_project(sim: GitLabSim) -> None:
    response = requests.get(f"{sim.api_url}/projects/platform%2Fapps%2Forders", timeout=5)
    write = requests.post(f"{sim.api_url}/projects/1000/repository/branches", timeout=5)

    assert response.status_code == 404
    assert write.status_code == 401


# -- faults ---------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_and_python_gitlab_waits(sim: GitLabSim) -> None:
    limiter = sim.faults.rate_limit(limit=2, period=1.0)
    gl = client(sim, retry_transient_errors=True)  # obey_rate_limit is on by default
    started = time.monotonic()

    # Five requests against two a window: however the windows fall, one of them gets a third.
    paths = [gl.projects.get("platform/apps/orders").path for _ in range(5)]

    assert paths == ["orders"] * 5
    throttled = [e for e in sim.exchanges if e.status == 429]
    assert limiter.throttled >= 1 and len(throttled) == limiter.throttled
    assert sim.request_counts[("GET", "/projects/:id")] == 5 + limiter.throttled
    assert time.monotonic() - started >= 0.5


def test_throttled_response_carries_gitlabs_headers_and_body(sim: GitLabSim) -> None:
    sim.faults.rate_limit(limit=1, period=60)
    headers = {"PRIVATE-TOKEN": RW}

    ok = requests.get(f"{sim.api_url}/user", headers=headers, timeout=5)
    throttled = requests.get(f"{sim.api_url}/user", headers=headers, timeout=5)

    assert ok.status_code == 200 and ok.headers["RateLimit-Limit"] == "1"
    assert throttled.status_code == 429
    assert throttled.text == "Retry later\n"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.headers["RateLimit-Remaining"] == "0"
    assert throttled.headers["RateLimit-Observed"] == "2"
    assert int(throttled.headers["RateLimit-Reset"]) > time.time()


def test_every_response_carries_rate_limit_headers(sim: GitLabSim) -> None:
    responses = [
        requests.get(f"{sim.api_url}/user", headers={"PRIVATE-TOKEN": RW}, timeout=5),
        requests.get(f"{sim.api_url}/user", headers={"PRIVATE-TOKEN": "bad"}, timeout=5),
        requests.get(f"{sim.api_url}/nowhere", timeout=5),
    ]

    for response in responses:
        assert {
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Observed",
        } <= (set(response.headers))
    assert [r.status_code for r in responses] == [200, 401, 404]


def test_failed_requests_change_nothing_and_are_retried(sim: GitLabSim) -> None:
    fault = sim.faults.fail_next(2, status=503, method="POST", route="/projects/:id/merge_requests")
    project = client(sim, retry_transient_errors=True).projects.get("platform/apps/orders")

    mr = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add readme"}
    )

    assert fault.triggered == 2
    assert [m.iid for m in sim.merge_requests("platform/apps/orders")] == [mr.iid] == [1]
    posts = [e.status for e in sim.exchanges if e.method == "POST"]
    assert posts == [503, 503, 201]


def test_without_retries_the_fault_status_reaches_the_client(sim: GitLabSim) -> None:
    sim.faults.fail_next(1, status=502, route="/projects/:id")

    with pytest.raises(gitlab.GitlabGetError) as raised:
        client(sim).projects.get("platform/apps/orders")

    assert raised.value.response_code == 502


def test_dropped_connection_is_seen_as_a_connection_error_and_retried(sim: GitLabSim) -> None:
    drop = sim.faults.drop(nth=1, route="/projects/:id")
    gl = client(sim, retry_transient_errors=True)

    project = gl.projects.get("platform/apps/orders")

    assert project.path == "orders" and drop.triggered == 1
    assert [e.fault for e in sim.exchanges if e.route == "/projects/:id"] == ["drop", None]


def test_dropped_answer_after_processing_keeps_the_side_effect(sim: GitLabSim) -> None:
    sim.faults.drop(
        nth=1, method="POST", route="/projects/:id/merge_requests", after_processing=True
    )
    project = client(sim, retry_transient_errors=True).projects.get("platform/apps/orders")

    with pytest.raises(gitlab.GitlabCreateError) as raised:
        project.mergerequests.create(
            {"source_branch": "feature", "target_branch": "main", "title": "Add readme"}
        )

    # The first attempt created the MR; the retry meets GitLab's duplicate check.
    assert raised.value.response_code == 409
    assert len(sim.merge_requests("platform/apps/orders")) == 1


def test_bad_answers_are_given_in_place_of_the_request_and_then_stop(sim: GitLabSim) -> None:
    url = f"{sim.api_url}/projects/platform%2Fapps%2Forders"
    headers = {"PRIVATE-TOKEN": RW}
    sim.faults.html_page(route="/projects/:id")
    page = requests.get(url, headers=headers, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.text.lstrip().startswith("<!DOCTYPE html>")
    sim.faults.malformed_json(route="/projects/:id", after=1)
    assert requests.get(url, headers=headers, timeout=10).json()["path"] == "orders"
    with pytest.raises(requests.JSONDecodeError):
        requests.get(url, headers=headers, timeout=10).json()
    assert requests.get(url, headers=headers, timeout=10).json()["path"] == "orders"


def test_a_huge_answer_is_valid_json_streamed_without_a_length(sim: GitLabSim) -> None:
    sim.faults.huge_body(3 * 1024 * 1024, route="/projects")
    answer = requests.get(f"{sim.api_url}/projects", headers={"PRIVATE-TOKEN": RW}, timeout=30)
    assert "Content-Length" not in answer.headers
    assert len(answer.content) >= 3 * 1024 * 1024
    assert answer.json()[0]["path_with_namespace"] == "huge/answer"


def test_a_project_can_announce_a_clone_url_on_another_host(sim: GitLabSim,
                                                            source_repo: Path) -> None:
    sim.add_project("platform/apps/moved", source_repo=source_repo,
                    http_url_to_repo="https://elsewhere.example/moved.git")
    project = client(sim).projects.get("platform/apps/moved")
    assert project.http_url_to_repo == "https://elsewhere.example/moved.git"
    assert client(sim).projects.get("platform/apps/orders").http_url_to_repo == \
        f"{sim.url}/platform/apps/orders.git"


def test_random_faults_are_reproducible_from_the_seed_and_capped() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = RandomFaults(0.5, seed=seed, max_faults=4)
        req = RequestInfo("GET", "/api/v4/projects", "/projects", "c")
        return [faults.decide(req) is not None for _ in range(30)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert sum(pattern(7)) == 4


def test_random_faults_are_survived_by_python_gitlabs_retries(sim: GitLabSim) -> None:
    faults = sim.faults.random(0.5, seed=3, max_faults=3, retry_after=0)
    gl = client(sim, retry_transient_errors=True)

    names = [gl.projects.get("platform/apps/orders").name for _ in range(8)]

    assert names == ["orders"] * 8
    assert faults.triggered == 3
    assert sum(1 for e in sim.exchanges if e.fault == "status") == 3


def test_delay_holds_the_response(sim: GitLabSim) -> None:
    sim.faults.delay(0.3, route="/user", count=1)
    gl = client(sim)

    started = time.monotonic()
    gl.auth()
    first = time.monotonic() - started
    started = time.monotonic()
    gl.auth()
    second = time.monotonic() - started

    assert first >= 0.3 > second


# -- git over HTTP --------------------------------------------------------------------------------


def git_env(token: str) -> dict[str, str]:
    return {**os.environ, "GITLAB_TOKEN": token, "GIT_TERMINAL_PROMPT": "0"}


def run_git(*args: str, cwd: Path, token: str) -> subprocess.CompletedProcess[str]:
    argv = ["git", "-c", f"credential.helper={CREDENTIAL_HELPER}", *args]
    assert token not in " ".join(argv)
    return subprocess.run(argv, cwd=cwd, env=git_env(token), capture_output=True, text=True)


def test_clone_and_push_over_http_with_a_credential_helper(sim: GitLabSim, tmp_path: Path) -> None:
    url = f"{sim.url}/platform/apps/orders.git"
    clone = tmp_path / "work"

    cloned = run_git("clone", "-q", url, str(clone), cwd=tmp_path, token=RW)
    git("config", "user.email", "bot@example.com", cwd=clone)
    git("config", "user.name", "Bot", cwd=clone)
    git("checkout", "-q", "-b", "migrate/app-template", cwd=clone)
    pushed_sha = commit_file(clone, "deploy.yaml", "chart: app-template\n", "Migrate")
    pushed = run_git("push", "-q", "origin", "migrate/app-template", cwd=clone, token=RW)

    assert cloned.returncode == 0, cloned.stderr
    assert pushed.returncode == 0, pushed.stderr
    branch = client(sim).projects.get("platform/apps/orders").branches.get("migrate/app-template")
    assert branch.commit["id"] == pushed_sha
    assert not any(RW in arg for argv in sim.git_argv_log for arg in argv)
    assert ["git", "http-backend"] in sim.git_argv_log
    statuses = [e.status for e in sim.exchanges if e.route.startswith("/:project_path.git")]
    assert statuses[0] == 401  # git asks the helper only after the server's challenge


def test_push_with_a_read_only_token_is_403_and_changes_nothing(
    sim: GitLabSim, tmp_path: Path
) -> None:
    url = f"{sim.url}/platform/apps/orders.git"
    clone = tmp_path / "work"
    assert run_git("clone", "-q", url, str(clone), cwd=tmp_path, token=RO).returncode == 0
    git("config", "user.email", "r@example.com", cwd=clone)
    git("config", "user.name", "R", cwd=clone)
    git("checkout", "-q", "-b", "sneaky", cwd=clone)
    commit_file(clone, "x.txt", "x\n", "Sneaky")

    pushed = run_git("push", "-q", "origin", "sneaky", cwd=clone, token=RO)

    assert pushed.returncode != 0
    assert "You are not allowed to push code to this project." in pushed.stderr
    assert "403" in pushed.stderr
    assert "sneaky" not in sim.branches("platform/apps/orders")


def test_git_with_a_wrong_token_fails_authentication(sim: GitLabSim, tmp_path: Path) -> None:
    url = f"{sim.url}/platform/apps/orders.git"

    listed = run_git("ls-remote", url, cwd=tmp_path, token="wrong")
    challenge = requests.get(f"{url}/info/refs", params={"service": "git-upload-pack"}, timeout=5)

    assert listed.returncode != 0 and "Authentication failed" in listed.stderr
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="GitLab"'


def test_default_branch_is_protected_from_force_push(sim: GitLabSim, tmp_path: Path) -> None:
    url = f"{sim.url}/platform/apps/orders.git"
    clone = tmp_path / "work"
    assert run_git("clone", "-q", url, str(clone), cwd=tmp_path, token=RW).returncode == 0
    git("config", "user.email", "bot@example.com", cwd=clone)
    git("config", "user.name", "Bot", cwd=clone)
    before = sim.branches("platform/apps/orders")["main"]
    git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    commit_file(clone, "other.txt", "x\n", "Rewrite history")

    forced = run_git("push", "-q", "--force", "origin", "main", cwd=clone, token=RW)
    plain = run_git("push", "-q", "origin", "HEAD:refs/heads/rewritten", cwd=clone, token=RW)

    assert forced.returncode != 0
    assert "not allowed to force push code to a protected branch" in forced.stderr
    assert sim.branches("platform/apps/orders")["main"] == before
    assert plain.returncode == 0, plain.stderr
