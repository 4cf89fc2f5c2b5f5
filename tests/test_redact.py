"""What counts as a credential in reports."""

from __future__ import annotations

import pytest

from migrator.redact import REDACTED, is_secret_key, redact_tree, redact_value


@pytest.mark.parametrize("path", ["database.password", "auth.token", "api_key", "db.DSN",
                                  "aws.secretAccessKey", "ldap.credentials"])
def test_credential_keys_are_secret(path: str) -> None:
    assert is_secret_key(path)


@pytest.mark.parametrize("path", ["tls[0].secretName", "env[0].valueFrom.secretKeyRef.name",
                                  "imagePullSecrets", "replicas", "image.tag"])
def test_references_to_secrets_and_plain_keys_are_shown(path: str) -> None:
    assert not is_secret_key(path)


def test_a_url_with_a_password_is_redacted_under_any_key() -> None:
    assert redact_value("upstream", "https://bob:hunter2@db.example.com/x") == REDACTED
    assert redact_value("upstream", "https://db.example.com/x") == "https://db.example.com/x"


def test_trees_are_redacted_leaf_by_leaf() -> None:
    assert redact_tree({"db": {"host": "h", "password": "p"}}) == {
        "db": {"host": "h", "password": REDACTED}}
