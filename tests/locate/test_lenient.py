"""Deploy files read as their own tool reads them: what GitLab forgives is forgiven and said."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.errors import RepoError
from migrator.locate.refs import scan_references
from migrator.locate.refs.lenient import GITLAB, HELMFILE, load_lenient, untab
from migrator.model import NoticeKind
from tests.rewrite.helpers import make_repo, rewrite

DUPLICATE_KEY = """\
variables:
  A: "1"
variables:
  B: "2"
deploy:
  script:
    - helm upgrade --install app ./chart -f chart/values-$B.yaml
"""

DUPLICATE_MERGE = """\
.a: &a
  image: alpine
  variables: {ENV: one}
.b: &b
  tags: [k8s]
  variables: {ENV: two}
deploy:
  <<: *a
  <<: *b
  script:
    - helm upgrade --install app ./chart -f chart/values-$ENV.yaml
"""

TRAILING_TAB = "deploy:\n  stage: deploy\t\n  script:\n    - helm upgrade --install app ./chart\n"


def test_a_duplicate_key_takes_the_last_value_as_gitlab_does_and_says_so(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": DUPLICATE_KEY})
    scan = scan_references(tmp_path)
    (ref,) = scan.found
    assert (ref.line, ref.values_files) == (7, ("chart/values-2.yaml",))
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.LENIENT, ".gitlab-ci.yml:3")
    assert notice.detail == "duplicate key `variables` (first at line 1): GitLab uses the last one"


def test_two_merge_keys_both_merge_the_later_one_winning(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": DUPLICATE_MERGE})
    scan = scan_references(tmp_path)
    (ref,) = scan.found
    assert ref.values_files == ("chart/values-two.yaml",)  # *b merged after *a overrides it
    (notice,) = scan.notices
    assert notice.where == ".gitlab-ci.yml:9" and "merges both" in notice.detail


def test_a_tab_after_a_value_is_skipped_as_libyaml_skips_it(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": TRAILING_TAB})
    scan = scan_references(tmp_path)
    assert [r.line for r in scan.found] == [4]
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.LENIENT, ".gitlab-ci.yml:2")


@pytest.mark.parametrize("text", ["a:\tb\n", "a:\t\n  b: 1\n", "\ta: 1\n", "- \tx\n"])
def test_tabs_that_libyaml_refuses_stay_refused(text: str) -> None:
    with pytest.raises(RepoError, match="found character '\\\\t'"):
        load_lenient(text, "f.yml", GITLAB)


def test_untab_keeps_every_offset() -> None:
    text = "a: b\t # c\nd:\te\nf: g \t\n"
    fixed, lines = untab(text)
    assert len(fixed) == len(text) and lines == (1, 3)
    assert fixed == "a: b  # c\nd:\te\nf: g  \n"


def test_helmfile_refuses_duplicate_keys_so_the_file_is_unreadable(tmp_path: Path) -> None:
    make_repo(tmp_path, {"helmfile.yaml": "releases:\n  - name: web\n    chart: ./chart\n"
                                          "    chart: ./other\n"})
    scan = scan_references(tmp_path)
    assert scan.found == ()
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.UNREADABLE, "helmfile.yaml:4")
    assert "helmfile refuses it too" in notice.detail
    with pytest.raises(RepoError):
        load_lenient("a: 1\na: 2\n", "helmfile.yaml", HELMFILE)


@pytest.mark.parametrize("ci", [DUPLICATE_KEY, TRAILING_TAB])
def test_a_leniently_read_ci_file_is_rewritten_in_place(tmp_path: Path, ci: str) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": ci})
    result = rewrite(tmp_path, envs=("default",))
    assert result.untouched == ()
    new = result.writes[".gitlab-ci.yml"].decode()
    assert "oci://registry.example.com/charts/app-template --version 2.3.0" in new
    assert new.count("variables:") == ci.count("variables:")  # nothing else moved
    assert ("\t" in new) == ("\t" in ci)
