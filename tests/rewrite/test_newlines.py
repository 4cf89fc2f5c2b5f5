"""Line endings survive a rewrite: the edit works on LF text, each line keeps its own ending."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.rewrite.newlines import restore, split
from tests.rewrite.helpers import make_repo, rewrite


@pytest.mark.parametrize("raw", ["a\r\nb\r\n", "a\r\nb", "a\nb\r\nc\n", "", "a\n", "a", "x\r\r\n"])
def test_a_file_split_and_restored_unchanged_is_the_same_bytes(raw: str) -> None:
    text, endings = split(raw)
    assert "\r\n" not in text or "\r\r\n" in raw
    assert restore(text, endings) == raw


def test_lines_an_edit_adds_to_a_crlf_file_end_with_crlf() -> None:
    text, endings = split("one\r\ntwo\r\n")
    assert restore(text.replace("two", "2\nthree"), endings) == "one\r\n2\r\nthree\r\n"


def test_in_a_mixed_file_each_kept_line_keeps_its_own_ending() -> None:
    text, endings = split("a\nb\r\nc\nd\n")
    assert restore(text.replace("b", "B"), endings) == "a\nB\r\nc\nd\n"
    assert restore(text.replace("c\n", ""), endings) == "a\nb\r\nd\n"


def test_a_crlf_makefile_is_rewritten_with_crlf(tmp_path: Path) -> None:
    make_repo(tmp_path, {"Makefile": "# deploy\r\ndeploy:\r\n\thelm upgrade --install orders "
                                     "./chart -f chart/values-production.yaml\r\n"})
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes["Makefile"] == (
        b"# deploy\r\ndeploy:\r\n\thelm upgrade --install orders oci://registry.example.com/"
        b"charts/app-template --version 2.3.0 -f deploy/values.yaml -f "
        b"deploy/values-production.yaml\r\n")


def test_a_crlf_ci_file_is_rewritten_with_crlf(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": (
        "deploy:\r\n  stage: deploy\r\n  environment: production\r\n  script:\r\n"
        "    - helm upgrade --install orders ./chart -f chart/values-production.yaml\r\n")})
    result = rewrite(tmp_path, envs=("production",))
    written = result.writes[".gitlab-ci.yml"]
    assert written.count(b"\r\n") == 5 and b"\n" not in written.replace(b"\r\n", b"")
    assert b"oci://registry.example.com/charts/app-template --version 2.3.0" in written


def test_a_crlf_helmfile_is_rewritten_with_crlf(tmp_path: Path) -> None:
    make_repo(tmp_path, {"helmfile.yaml": (
        "releases:\r\n  - name: orders\r\n    chart: ./chart\r\n    values:\r\n"
        "      - chart/values-production.yaml\r\n")})
    result = rewrite(tmp_path, envs=("production",))
    written = result.writes["helmfile.yaml"]
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert b"    chart: oci://registry.example.com/charts/app-template\r\n" in written
    assert b"      - deploy/values-production.yaml\r\n" in written


def test_a_crlf_python_script_is_rewritten_with_crlf(tmp_path: Path) -> None:
    make_repo(tmp_path, {"deploy.py": (
        "import subprocess\r\n\r\n\r\ndef deploy():\r\n"
        "    subprocess.run([\"helm\", \"upgrade\", \"orders\", \"./chart\",\r\n"
        "                    \"-f\", \"chart/values-production.yaml\"])\r\n")})
    result = rewrite(tmp_path, envs=("production",))
    written = result.writes["deploy.py"]
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert b"oci://registry.example.com/charts/app-template" in written
    assert written.startswith(b"import subprocess\r\n\r\n\r\ndef deploy():\r\n")
