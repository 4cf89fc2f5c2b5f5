from __future__ import annotations

import pytest

from migrator.model import FieldChange
from migrator.report.common import scrub_field, scrub_text, shown, yamlish


@pytest.mark.parametrize(("text", "expected"), [
    ("helm upgrade app ./c --set db.password=s3cr3t -f v.yaml",
     "helm upgrade app ./c --set db.password=<redacted> -f v.yaml"),
    ("--set image.tag=1,api.token=abc", "--set image.tag=1,api.token=<redacted>"),
    ("--set=auth.secret=zz", "--set=auth.secret=<redacted>"),
    ("helm registry login --password s3cr3t r.io",
     "helm registry login --password <redacted> r.io"),
    ('DB_PASSWORD="two words" next', 'DB_PASSWORD="<redacted>" next'),
    ("psql postgres://app:s3cr3t@db/app", "psql <redacted>"),
    ("--set image.tag=1.2.3 -n prod", "--set image.tag=1.2.3 -n prod"),
])
def test_scrub_text_hides_credentials_in_commands(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_shown_hides_credential_keys_and_env_entries_named_like_credentials() -> None:
    value = {"password": "x", "host": "db",
             "env": [{"name": "API_TOKEN", "value": "x"}, {"name": "MODE", "value": "fast"}]}
    assert shown("database", value) == {
        "password": "<redacted>", "host": "db",
        "env": [{"name": "API_TOKEN", "value": "<redacted>"}, {"name": "MODE", "value": "fast"}]}
    assert shown("database.password", "x") == "<redacted>"


def test_secret_data_fields_show_only_their_size() -> None:
    change = scrub_field("Secret", FieldChange("data.url", "b2xk", "c2VjcmV0"))
    assert change == FieldChange("data.url", "<redacted> (4 bytes)", "<redacted> (8 bytes)")
    already = FieldChange("data.url", "changed (4 bytes)", None)
    assert scrub_field("Secret", already) == already
    configmap = FieldChange("data.mode", "a", "b")
    assert scrub_field("ConfigMap", configmap) == configmap


@pytest.mark.parametrize(("value", "text"), [
    ("5.2.1", '"5.2.1"'),
    ("yes", '"yes"'),
    ("", '""'),
    ("orders", "orders"),
    ("a: b", '"a: b"'),
    (3, "3"),
    (None, "null"),
    (True, "true"),
    ({"a": [1, "x"]}, "{a: [1, x]}"),
    ("line\nbreak", '"line\\nbreak"'),
])
def test_yamlish_renders_values_as_one_line_flow_yaml(value: object, text: str) -> None:
    assert yamlish(value) == text


def test_yamlish_cuts_long_values() -> None:
    assert yamlish("x" * 500, limit=10) == "x" * 9 + "…"
