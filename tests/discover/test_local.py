from __future__ import annotations

from pathlib import Path

import pytest

from migrator.discover.local import LocalFleetSettings, list_repos, slugify, unique_slugs
from migrator.errors import ConfigError
from tests.forge.fleetkit import make_repo


def test_a_directory_lists_its_git_repos_sorted_and_skips_other_entries(tmp_path: Path) -> None:
    make_repo(tmp_path / "payments", {"a": "1"})
    make_repo(tmp_path / "orders", {"a": "1"}, branch="trunk")
    (tmp_path / "notes").mkdir()
    (tmp_path / "loose.txt").write_text("x")
    repos = list_repos(LocalFleetSettings(tmp_path))
    assert [(r.name, r.slug, r.default_branch) for r in repos] == [
        ("orders", "orders", "trunk"), ("payments", "payments", "main")]
    assert repos[0].url == str((tmp_path / "orders").resolve())


def test_a_list_file_takes_paths_and_urls_and_skips_comments(tmp_path: Path) -> None:
    make_repo(tmp_path / "repos" / "orders", {"a": "1"})
    listing = tmp_path / "fleet.txt"
    listing.write_text(
        "# the wave-1 fleet\n"
        "\n"
        "repos/orders\n"
        "  https://gitlab.example.com/shop/backend/billing.git  \n"
        "git@gitlab.example.com:shop/search.git\n"
        "repos/orders\n"
    )
    repos = list_repos(LocalFleetSettings(listing))
    assert [(r.name, r.slug) for r in repos] == [
        ("repos/orders", "repos__orders"),
        ("shop/backend/billing", "shop__backend__billing"),
        ("shop/search", "shop__search"),
    ]
    assert repos[0].url == str((tmp_path / "repos" / "orders").resolve())
    assert repos[1].url == "https://gitlab.example.com/shop/backend/billing.git"


def test_a_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text("https://bot:hunter2-token@gitlab.example.com/shop/orders.git\n")
    with pytest.raises(ConfigError) as err:
        list_repos(LocalFleetSettings(listing))
    assert "fleet.txt:1" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_a_line_git_would_take_for_an_option_or_a_command_is_kept_unavailable_by_its_place(
        tmp_path: Path) -> None:
    make_repo(tmp_path / "repos" / "orders", {"a": "1"})
    listing = tmp_path / "fleet.txt"
    listing.write_text("repos/orders\n--upload-pack=touch /tmp/x;://x\next::sh -c id\n")
    repos = {r.name: r for r in list_repos(LocalFleetSettings(listing))}
    assert repos["repos/orders"].unavailable is None
    assert "fleet.txt:2: the clone URL" in str(repos["fleet.txt:2"].unavailable)
    assert "starts with '-'" in str(repos["fleet.txt:2"].unavailable)
    assert "remote helper" in str(repos["fleet.txt:3"].unavailable)
    assert repos["fleet.txt:3"].slug == "fleet.txt-3"


def test_a_listed_path_that_is_not_a_repo_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    listing = tmp_path / "fleet.txt"
    listing.write_text("plain\n")
    with pytest.raises(ConfigError, match=r"fleet.txt:1: plain is not a git repository"):
        list_repos(LocalFleetSettings(listing))


def test_include_and_exclude_patterns_filter_by_name(tmp_path: Path) -> None:
    for name in ("orders", "orders-legacy", "payments", "search"):
        make_repo(tmp_path / name, {"a": "1"})
    repos = list_repos(LocalFleetSettings(tmp_path, include=("orders*", "payments"),
                                          exclude=("*-legacy",)))
    assert [r.name for r in repos] == ["orders", "payments"]


def test_slugs_are_filesystem_safe_and_unique_even_when_names_collide() -> None:
    assert slugify("group/sub group/orders.git") == "group__sub-group__orders.git"
    slugs = unique_slugs(["a/b", "a__b", "c"])
    assert len(set(slugs)) == 3
    assert slugs[2] == "c"
    assert all(s.startswith("a__b-") for s in slugs[:2])
    assert unique_slugs(["a/b", "a__b"]) == slugs[:2]  # stable for the same names


def test_a_missing_fleet_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        list_repos(LocalFleetSettings(tmp_path / "nope"))
