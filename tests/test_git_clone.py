"""The clone cache: a repository on this machine is cloned by borrowing its objects, a URL
shallow and blobless; a borrowed clone that lost what it borrowed is made again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from migrator import git
from tests.forge.fleetkit import HUMAN, app_files, make_repo


def _count_objects(repo: Path) -> dict[str, str]:
    out = git.run(["count-objects", "-v"], cwd=repo)
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_a_local_repository_is_cloned_by_borrowing_its_objects(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "orders", app_files("orders"))
    clone = tmp_path / "cache" / "orders"
    assert git.clone_or_update(str(source), clone, "main") == git.head(source)
    alternates = (clone / ".git" / "objects" / "info" / "alternates").read_text()
    assert alternates.strip() == str(source.resolve() / ".git" / "objects")
    own = _count_objects(clone)
    assert (own["count"], own["in-pack"]) == ("0", "0")  # nothing copied
    assert (clone / "deploy/helm/orders/Chart.yaml").read_text().startswith("apiVersion: v2")
    assert not (clone / ".git" / "shallow").exists()
    assert git.is_origin(git.remote_url(clone), str(source))
    assert git.is_origin(git.read_origin_url(clone), str(source))


def test_a_url_is_cloned_shallow_and_blobless_as_before(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "orders", app_files("orders"))
    git.run(["commit", "--quiet", "--allow-empty", "-m", "second"], cwd=source, env=HUMAN)
    clone = tmp_path / "cache" / "orders"
    url = source.resolve().as_uri()
    assert git.clone_or_update(url, clone, "main") == git.head(source)
    assert not (clone / ".git" / "objects" / "info" / "alternates").exists()
    assert (clone / ".git" / "shallow").read_text().strip() == git.head(source)
    assert git.remote_url(clone) == url


def test_a_borrowed_clone_follows_its_source(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "orders", app_files("orders"))
    clone = tmp_path / "cache" / "orders"
    git.clone_or_update(str(source), clone, "main")
    (source / "NEW").write_text("new\n")
    git.run(["add", "NEW"], cwd=source)
    git.run(["commit", "--quiet", "-m", "new"], cwd=source, env=HUMAN)
    assert git.clone_or_update(str(source), clone, "main") == git.head(source)
    assert (clone / "NEW").read_text() == "new\n"


def test_a_borrowed_clone_whose_source_lost_its_objects_is_made_again(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "orders", app_files("orders"))
    clone = tmp_path / "cache" / "orders"
    first = git.clone_or_update(str(source), clone, "main")
    # History rewritten and the old objects gone: the clone's own HEAD no longer reads.
    shutil.rmtree(source)
    make_repo(source, {**app_files("orders"), "REWRITTEN": "yes\n"})
    broken = subprocess.run(["git", "cat-file", "-e", f"{first}^{{commit}}"], cwd=clone,
                            capture_output=True, check=False)
    assert broken.returncode != 0
    assert git.clone_or_update(str(source), clone, "main") == git.head(source)
    assert (clone / "REWRITTEN").exists()
    git.run(["fsck", "--no-progress"], cwd=clone)  # raises on a clone that borrows what is gone


def test_a_patch_is_the_same_from_a_borrowed_clone_and_a_shallow_one(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "orders", app_files("orders"))
    for i in range(3):  # some history the shallow clone does not see
        (source / "HISTORY").write_text(f"{i}\n")
        git.run(["add", "HISTORY"], cwd=source)
        git.run(["commit", "--quiet", "-m", f"history {i}"], cwd=source, env=HUMAN)
    borrowed, shallow = tmp_path / "borrowed", tmp_path / "shallow"
    git.clone_or_update(str(source), borrowed, "main")
    git.clone_or_update(source.resolve().as_uri(), shallow, "main")
    assert (borrowed / ".git" / "objects" / "info" / "alternates").exists()
    assert (shallow / ".git" / "shallow").exists()
    writes: dict[str, bytes | None] = {"deploy/helm/orders": None,
                                       "deploy/values.yaml": b"replicaCount: 3\n"}
    assert git.patch_for(borrowed, writes) == git.patch_for(shallow, writes)


def test_a_source_of_many_objects_is_cloned_shallow(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Past 2**14 objects git names blobs by longer ids in a clone that sees them all: the
    # limit is lowered here to the size of this source, in place of a repository that large.
    source = make_repo(tmp_path / "orders", app_files("orders"))
    held = _count_objects(source)
    objects = int(held["count"]) + int(held["in-pack"])
    assert held["in-pack"] == "0" and objects > 5  # loose, so far
    monkeypatch.setattr(git, "_BORROW_OBJECTS", objects)
    git.clone_or_update(str(source), tmp_path / "loose", "main")
    assert not (tmp_path / "loose" / ".git" / "objects" / "info" / "alternates").exists()
    git.run(["gc", "--quiet"], cwd=source)  # the same objects, packed
    assert _count_objects(source)["in-pack"] == str(objects)
    git.clone_or_update(str(source), tmp_path / "packed", "main")
    assert not (tmp_path / "packed" / ".git" / "objects" / "info" / "alternates").exists()
    assert (tmp_path / "packed" / ".git" / "shallow").exists()
    monkeypatch.setattr(git, "_BORROW_OBJECTS", objects + 1)
    git.clone_or_update(str(source), tmp_path / "fewer", "main")
    assert (tmp_path / "fewer" / ".git" / "objects" / "info" / "alternates").exists()
