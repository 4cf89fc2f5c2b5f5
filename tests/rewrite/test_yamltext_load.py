"""Deploy files are re-read round trip before an edit; a Go template must not crash that."""

from __future__ import annotations

import pytest

from migrator.errors import RepoError
from migrator.rewrite.yamltext import load


def test_a_go_templated_manifest_is_read_with_its_actions_hidden() -> None:
    text = ("{{- range .Values.applications }}\n---\napiVersion: argoproj.io/v1alpha1\n"
            "kind: Application\nspec:\n  source:\n    path: {{ .path }}\n{{- end }}\n")
    docs = [d for d in load(text, rel="apps/templates/applications.yaml") if d]
    assert docs and docs[0]["kind"] == "Application"


def test_yaml_no_reader_accepts_is_an_error_on_that_file() -> None:
    with pytest.raises(RepoError) as failure:
        load("a: [b\nc: d\n", rel="deploy/app.yaml")
    assert failure.value.file == "deploy/app.yaml" and "malformed YAML" in str(failure.value)
