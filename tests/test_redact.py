"""What counts as a secret, by key name and by the shape of the value, and how it is hidden."""

from __future__ import annotations

import base64

import pytest

from migrator.redact import (
    REDACTED,
    is_secret_key,
    looks_secret,
    patch_redactions,
    redact_patch,
    redact_tree,
    redact_value,
    scrub_text,
)

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiZ1BjP5CE\n"
       "Wm0Rr500PqXk9mP2qR7sT4vW8yZ1aB3cQ\n-----END RSA PRIVATE KEY-----")
DOCKERCONFIG = ('{"auths":{"registry.example.com":{"username":"bot","password":"Pl41nPw0rd",'
                '"auth":"Ym90OlBsNDFuUHcwcmQ="}}}')
# One of each shape the redactor knows, as it may stand on its own.
SHAPES = {
    "credential URL": "postgres://app:Pl41nPw0rd@db.example.com:5432/app",
    "AWS access key id": "AKIAQ3EGRTSXZ5ZCEW7N",
    "JWT": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
           "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "GitLab token": "glpat-Xq3vR8tY2uW5zA1bC4dE",
    "GitHub token": "ghp_1234567890abcdefghijABCDEFGHIJ123456",
    "Slack token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "PEM block": PEM,
    "docker config": DOCKERCONFIG,
    "random string": "Xk9mP2qR7sT4vW8yZ1aB3cQ",
}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("path", ["database.password", "auth.token", "api_key", "db.DSN",
                                  "aws.secretAccessKey", "ldap.credentials", "apiKey",
                                  "pull.dockerconfigjson", "registry..dockercfg"])
def test_credential_keys_are_secret(path: str) -> None:
    assert is_secret_key(path)


@pytest.mark.parametrize("path", ["tls[0].secretName", "env[0].valueFrom.secretKeyRef.name",
                                  "imagePullSecrets", "replicas", "image.tag",
                                  "serviceAccount.automountServiceAccountToken"])
def test_references_to_secrets_and_plain_keys_are_shown(path: str) -> None:
    assert not is_secret_key(path)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_is_a_secret_under_any_key_and_so_is_its_base64(shape: str) -> None:
    for value in (SHAPES[shape], _b64(SHAPES[shape])):
        assert looks_secret(value), value
        assert redact_value("innocent.key", value) == REDACTED


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_secret_inside_text_is_replaced_and_the_words_around_it_kept(shape: str) -> None:
    text = f"connect with {SHAPES[shape]} then go"
    scrubbed = scrub_text(text)
    assert scrubbed.startswith("connect with ") and scrubbed.endswith(" then go")
    assert REDACTED in scrubbed
    for word in SHAPES[shape].split():
        if len(word) > 12:
            assert word not in scrubbed


def test_an_aws_secret_key_is_hidden_beside_its_key_id() -> None:
    text = "aws configure set AKIAQ3EGRTSXZ5ZCEW7N wJalrXUtnFEMI/K7MDENG/bPxRfiCYzXAMPLEKEY"
    assert scrub_text(text) == f"aws configure set {REDACTED} {REDACTED}"


@pytest.mark.parametrize("text", [
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # image digest
    "registry.example.com/shop/orders@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd1",
    "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",  # git SHA
    "123e4567-e89b-12d3-a456-426614174000",  # UUID
    "checksum/config: 5d41402abc4b2a76b9719d911017c592",
    "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",  # SRI
    "CiCommitRefSlugV2Release SpringApplicationConfigurationProperty1",  # identifiers
    "orders-7d9f8c6b5-x2k4p kubernetesIoIngressClass2",
    "helm upgrade --install orders ./chart --namespace shop --atomic --timeout 5m",
    "https://gitlab.example.com/group/project/-/merge_requests/3",
    "image: nginx:1.25.3-alpine",
    _b64("a harmless sentence, base64 encoded in a ConfigMap"),
    "password: {{ .Values.db.password | b64enc }}",  # Helm code reading a secret: no secret
])
def test_digests_hashes_uuids_identifiers_and_plain_text_are_not_secrets(text: str) -> None:
    assert scrub_text(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("kubectl create secret generic x --from-literal=db-password=Sup3r --from-literal=user=app",
     f"kubectl create secret generic x --from-literal=db-password={REDACTED} "
     "--from-literal=user=app"),
    ("--from-literal=DB_URL=postgres://u:p4ss@db/x", f"--from-literal=DB_URL={REDACTED}"),
    ("{name: DB_PASSWORD, value: hunter2}", f"{{name: DB_PASSWORD, value: {REDACTED}}}"),
    ('{"password": "abc", "user": "x"}', f'{{"password": "{REDACTED}", "user": "x"}}'),
    ("db:\n  password: hunter2\n  host: db", f"db:\n  password: {REDACTED}\n  host: db"),
    ("--token\nnext line", "--token\nnext line"),  # a flag never takes the next line's word
    ("DB_PASSWORD := hunter2", f"DB_PASSWORD := {REDACTED}"),  # Makefile
    ('api_token = "abc def"', f'api_token = "{REDACTED}"'),  # INI, TOML, Python
    ("if password == typed:", "if password == typed:"),
    ("https://api.example.com/v1?token=abc123&x=1", f"https://api.example.com/v1?token={REDACTED}"),
    ("Secret app-auth-redis: no counterpart in the central chart",
     "Secret app-auth-redis: no counterpart in the central chart"),  # prose, not a pair
    ("redis.example.com:6379", "redis.example.com:6379"),
])
def test_scrub_text_hides_values_by_their_key_in_any_notation(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize("text", [
    *SHAPES.values(),
    "helm upgrade app ./c --set db.password=s3cr3t -f v.yaml",
    'DB_PASSWORD="two words" next',
    f"key: {_b64(PEM)}",
])
def test_scrubbing_twice_changes_nothing_more(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


def test_a_url_with_a_password_is_redacted_under_any_key() -> None:
    assert redact_value("upstream", "https://bob:hunter2@db.example.com/x") == REDACTED
    assert redact_value("upstream", "https://db.example.com/x") == "https://db.example.com/x"


def test_trees_are_redacted_leaf_by_leaf() -> None:
    assert redact_tree({"db": {"host": "h", "password": "p"}}) == {
        "db": {"host": "h", "password": REDACTED}}


def test_under_a_credential_key_every_leaf_is_hidden_but_switches_stay_readable() -> None:
    tree = {"auth": {"enabled": True, "user": "admin", "port": 5432, "extra": None,
                     "keys": ["a", "b"]}}
    assert redact_tree(tree) == {"auth": {"enabled": True, "user": REDACTED, "port": REDACTED,
                                          "extra": None, "keys": [REDACTED, REDACTED]}}


# --- patches ---------------------------------------------------------------------------------

PATCH = """\
diff --git a/chart/values.yaml b/chart/values.yaml
deleted file mode 100644
index 1111111..0000000
--- a/chart/values.yaml
+++ /dev/null
@@ -1,24 +0,0 @@
-replicas: 3
-db:
-  host: db
-  password: "plain-words-1"
-aws:
-  keyId: AKIAQ3EGRTSXZ5ZCEW7N
-tls:
-  key: |
-    -----BEGIN RSA PRIVATE KEY-----
-    MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi
-    -----END RSA PRIVATE KEY-----
-  crt: shown-as-is
-credentials:
-  user: plain-words-2
-htpasswd: |
-  plain-words-3
-env:
-  - name: API_TOKEN
-    value: plain-words-4
-  - name: MODE
-    value: fast
-pull:
-  config: '{"auths": {"r.io": {"auth": "cGxhaW4td29yZHMtOQ=="}}}'
-automount: {{ .Values.serviceAccount.automount }}
diff --git a/chart/templates/secret.yaml b/chart/templates/secret.yaml
deleted file mode 100644
--- a/chart/templates/secret.yaml
+++ /dev/null
@@ -1,7 +0,0 @@
-apiVersion: v1
-kind: Secret
-metadata:
-  name: x
-data:
-  foo: cGxhaW4td29yZHMtNQ==
-  bar: plain-words-6
diff --git a/.gitlab-ci.yml b/.gitlab-ci.yml
--- a/.gitlab-ci.yml
+++ b/.gitlab-ci.yml
@@ -3,4 +3,4 @@ deploy:
   script:
     - kubectl create secret generic x --from-literal=db-password=plain-words-7
-    - helm upgrade orders ./chart --set db.password=plain-words-8
+    - helm upgrade orders oci://r/app-template --set db.password=plain-words-8
diff --git a/logo.png b/logo.png
GIT binary patch
literal 12
TcmZ?wbhEHbRA5kG00I#M2><{9

literal 0
HcmV?d00001

"""


def test_a_patch_keeps_its_shape_and_loses_every_secret_value() -> None:
    redacted = redact_patch(PATCH)
    for n in range(1, 10):
        assert f"plain-words-{n}" not in redacted
    for secret in ("AKIAQ3EGRTSXZ5ZCEW7N", "MIIEpAIBAAKCAQEA", "cGxhaW4td29yZHMt", "TcmZ"):
        assert secret not in redacted
    for kept in ("replicas: 3", "  host: db", "  crt: shown-as-is", "    value: fast",
                 "-  - name: API_TOKEN", "{{ .Values.serviceAccount.automount }}",
                 "@@ -1,24 +0,0 @@", "kind: Secret", "diff --git a/logo.png b/logo.png"):
        assert kept in redacted, kept
    body = redacted.split("diff --git", 1)[1]
    assert len(body.splitlines()) <= len(PATCH.splitlines())  # hunks keep their line counts
    assert redacted.startswith("# migrator: secret values or binary contents on ")


def test_a_redacted_patch_says_how_many_lines_it_hides_and_redacting_it_again_is_a_no_op(
        ) -> None:
    redacted = redact_patch(PATCH)
    assert patch_redactions(PATCH) == patch_redactions(redacted) == 15
    assert redact_patch(redacted) == redacted
    assert scrub_text(redacted) == redacted  # the journal's last lock leaves it alone


def test_removed_and_added_lines_that_look_like_file_headers_are_still_read() -> None:
    patch = ("diff --git a/db.sql b/db.sql\n--- a/db.sql\n+++ b/db.sql\n@@ -1 +1 @@\n"
             "--- password: plain-words-1\n+++ token: plain-words-2\n")
    redacted = redact_patch(patch)
    assert "plain-words" not in redacted
    assert "--- a/db.sql\n+++ b/db.sql\n" in redacted and f"--- password: {REDACTED}" in redacted


def test_a_patch_without_secrets_is_left_as_it_is() -> None:
    patch = "\n".join(line for line in PATCH.splitlines()[:7]) + "\n"
    assert redact_patch(patch) == patch and patch_redactions(patch) == 0
    assert patch_redactions(None) == 0
