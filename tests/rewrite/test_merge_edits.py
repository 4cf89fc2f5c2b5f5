"""Rewrites that meet in one place of a file: merged when they agree in effect, left for a person
when they do not; never an error of the chart."""

from __future__ import annotations

from pathlib import Path

from migrator.rewrite.command import Edit
from migrator.rewrite.engine import merge_edits
from tests.rewrite.helpers import make_repo, rewrite


def test_the_same_edit_asked_twice_is_made_once() -> None:
    edit = Edit(3, 8, "x")
    assert merge_edits([edit, edit]) == ([edit], None)


def test_two_insertions_at_one_point_are_made_in_the_order_asked() -> None:
    first, second, change = Edit(5, 5, "a\n"), Edit(5, 5, "b\n"), Edit(0, 4, "key")
    assert merge_edits([change, first, second]) == ([change, first, second], None)
    assert merge_edits([second, first])[0] == [second, first]


def test_an_insertion_where_a_replacement_starts_goes_before_it() -> None:
    replace, insert = Edit(4, 9, "new"), Edit(4, 4, "+")
    assert merge_edits([replace, insert]) == ([insert, replace], None)


def test_overlapping_deletions_delete_their_union() -> None:
    assert merge_edits([Edit(2, 6, ""), Edit(4, 10, "")]) == ([Edit(2, 10, "")], None)


def test_two_different_edits_of_the_same_text_disagree() -> None:
    _, clash = merge_edits([Edit(2, 6, "a"), Edit(2, 6, "b")])
    assert clash == 2
    _, clash = merge_edits([Edit(2, 6, ""), Edit(4, 4, "inside")])
    assert clash == 4


SKAFFOLD = """apiVersion: skaffold/v1alpha2
kind: Config
profiles:
- name: production
  deploy:
    helm:
      releases:
      - name: orders
        chartPath: chart
        setValueTemplates:
          image.repository: "{{.REGISTRY}}/orders"
          image.tag: "{{.TAG}}"
"""


def test_a_skaffold_release_with_set_value_templates_is_rewritten_and_keeps_them(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {"skaffold.yaml": SKAFFOLD})
    result = rewrite(tmp_path, envs=("production",))
    assert result.untouched == ()
    assert result.writes["skaffold.yaml"].decode() == SKAFFOLD.replace(
        "        chartPath: chart\n",
        "        remoteChart: oci://registry.example.com/charts/app-template\n"
        '        version: "2.3.0"\n'
        "        valuesFiles:\n"
        "          - deploy/values.yaml\n"
        "          - deploy/values-production.yaml\n")
    (deploy,) = result.deploys
    assert [(s.key, s.value, s.dynamic) for s in deploy.set_flags] == [
        ("image.repository", "{{.REGISTRY}}/orders", True), ("image.tag", "{{.TAG}}", True)]
