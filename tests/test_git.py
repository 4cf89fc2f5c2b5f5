"""`git.patch_for` gives the patch byte for byte: CRLF lines, a missing final newline and bytes
that are not UTF-8 all apply to a fresh clone and leave exactly the written content."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migrator import git


def _repo(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    git.run(["init", "-q", "-b", "main", str(root)])
    git.run(["-c", "core.autocrlf=false", "add", "-A"], cwd=root)
    git.run(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "c"],
            cwd=root)
    return root


def _apply(repo: Path, patch: str, dest: Path) -> Path:
    subprocess.run(["git", "-c", "core.autocrlf=false", "clone", "-q", str(repo), str(dest)],
                   check=True)
    data = patch.encode("utf-8")
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=dest, input=data,
                           capture_output=True, check=False)
    assert check.returncode == 0, check.stderr.decode()
    subprocess.run(["git", "apply", "-"], cwd=dest, input=data, check=True)
    return dest


CASES: dict[str, tuple[dict[str, bytes], dict[str, bytes | None]]] = {
    "a CRLF file deleted": ({"chart/svc.yaml": b"kind: Service\r\nname: x\r\n"},
                            {"chart": None}),
    "a CRLF file edited": ({"Makefile": b"a:\r\n\thelm upgrade x ./chart\r\n\r\n# end\r\n"},
                           {"Makefile": b"a:\r\n\thelm upgrade x oci://c\r\n\r\n# end\r\n"}),
    "a file without a final newline": ({"a.txt": b"one\ntwo", "b.txt": b"x\ny"},
                                       {"a.txt": b"one\nTWO", "b.txt": None}),
    "a Latin-1 file deleted and one edited": (
        {"chart/NOTES.txt": b"caf\xe9\n", "deploy.sh": b"# \xe9t\xe9\nhelm upgrade x ./chart\n"},
        {"chart": None, "deploy.sh": b"# \xe9t\xe9\nhelm upgrade x oci://c\n"}),
    "a Latin-1 file with a space in its name": ({"my chart/a b.txt": b"\xff\xfe\n"},
                                                {"my chart": None}),
    "mixed endings": ({"ci.yml": b"a: 1\r\nb: 2\nc: 3\r\n"}, {"ci.yml": b"a: 1\r\nb: 3\nc: 3\r\n"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_patch_applies_and_leaves_exactly_the_written_bytes(tmp_path: Path,
                                                                 case: str) -> None:
    files, writes = CASES[case]
    repo = _repo(tmp_path / "repo", files)
    patch = git.patch_for(repo, writes)
    assert isinstance(patch, str) and patch
    after = _apply(repo, patch, tmp_path / "after")
    for rel, content in writes.items():
        if content is None:
            assert not (after / rel).exists()
        else:
            assert (after / rel).read_bytes() == content


def test_crlf_lines_stay_crlf_in_the_patch_text(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"t.yaml": b"a: 1\r\n"})
    patch = git.patch_for(repo, {"t.yaml": None})
    assert "-a: 1\r\n" in patch


def test_a_repository_keeping_lf_in_git_and_crlf_in_its_files_gets_a_patch_that_applies(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {".gitattributes": b"*.yml text eol=crlf\n",
                                     "ci.yml": b"a: 1\nb: 2\n"})
    (repo / "ci.yml").unlink()
    git.run(["checkout", "--", "ci.yml"], cwd=repo)
    assert (repo / "ci.yml").read_bytes() == b"a: 1\r\nb: 2\r\n"
    patch = git.patch_for(repo, {"ci.yml": b"a: 1\r\nb: 3\r\n"})
    assert patch.count("\n") > 0 and "-b: 2\n+b: 3\n" in patch  # git holds LF
    after = _apply(repo, patch, tmp_path / "after")
    assert (after / "ci.yml").read_bytes() == b"a: 1\r\nb: 3\r\n"
