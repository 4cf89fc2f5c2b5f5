"""A plain values file is read by libyaml, and its edit reads round trip only the entries it can
keep: the key lines and every edited file are the very ones the round-trip reading of the whole
file gives (files._plain_reading, Entries.without_others)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.mapping import Rule, rename
from migrator.values import files
from migrator.verify.render import parse_values

ROOT = Path(__file__).resolve().parents[2]


def edited(text: str, wanted: dict[str, Any], rules: list[Rule], *, plain: bool,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """`render_values` as the tool makes it (plain: libyaml and a part of the file) or as it
    made it before (every file read whole, round trip)."""
    with monkeypatch.context() as patch:
        patch.setattr(files, "_READINGS", files._Readings(8, plain=plain))
        return files.render_values(wanted, text, rules)


def same_edits(text: str, wanted: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
               rules: list[Rule] | None = None) -> None:
    assert files._plain_reading(text) is not None, "not a plain file: nothing compared"
    # a plain file is taken to be one the round-trip reader reads (no notice that it refuses)
    assert files._load(text)[0].problem is None
    whole = edited(text, wanted, rules or [], plain=False, monkeypatch=monkeypatch)
    part = edited(text, wanted, rules or [], plain=True, monkeypatch=monkeypatch)
    assert part == whole


def subsets(values: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """What an edit keeps of a file's values: nothing, each key alone, every other key, the
    middle keys (neither the first nor the last), all of them, and each key with one of its
    children changed."""
    keys = list(values)
    yield {}
    for key in keys:
        yield {key: values[key]}
    yield {k: values[k] for k in keys[::2]}
    yield {k: values[k] for k in keys[1:-1]}
    yield dict(values)
    for key in keys:
        inner = values[key]
        if isinstance(inner, dict) and inner:
            child = next(iter(inner))
            yield {key: {child: "changed"}}


SAMPLE = """\
# Default values for orders.
# A YAML file.

# How many pods.
replicaCount: 1

# The image.
image:
  repository: registry.example.com/orders  # where it lives
  # Overrides the tag.
  tag: ""

imagePullSecrets: []
# Overrides the chart name.
nameOverride: ""
fullnameOverride: ""

podSecurityContext: {}
  # fsGroup: 2000

securityContext:
  # capabilities:
  #   drop:
  #   - ALL
  runAsNonRoot: true
# A comment at column 0 inside a map, then more of it.
  runAsUser: 1000

service:
  type: ClusterIP
  port: 80
emptyValue:
listOfMaps:
  - name: a
    value: "x # not a comment"
  -
  - name: b
    value: 'single'

# a note about the last key
tolerations: [a,
  b]
# trailing comment
"""


def test_the_sample_is_plain_and_its_key_lines_are_the_round_trip_ones() -> None:
    plain = files._plain_reading(SAMPLE)
    assert plain is not None and plain.entries is not None
    assert plain.keys == files._load(SAMPLE)[0].keys
    assert plain.entries.keys[0] == "replicaCount" and plain.entries.keys[-1] == "tolerations"


def test_every_edit_of_the_sample_is_the_whole_file_edit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    values = parse_values(SAMPLE, "values.yaml")
    for wanted in subsets(values):
        same_edits(SAMPLE, wanted, monkeypatch)


def test_a_rename_keeps_its_source_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    values = parse_values(SAMPLE, "values.yaml")
    same_edits(SAMPLE, {"replicas": 3, "image": values["image"]}, monkeypatch,
               [rename("replicaCount", "replicas")])
    same_edits(SAMPLE, {"svc": {"kind": "ClusterIP"}}, monkeypatch,
               [rename("service.type", "svc.kind")])


@pytest.mark.parametrize(("text", "keep"), [
    # Found by the generated files below: ruamel.yaml keeps the lines after a flow collection
    # that ends a block list at the list's end, and a comment after a flow collection with the
    # lines below it, above the next key.
    ("b: 0\na:\n  - {}\nimage: 0\n\ntag: 0\n", ["a"]),
    ("a:\n  - name: 0\n    value: {}\nb: 0\n\nimage: 0\n", ["a"]),
    ("a: 0\ntag: [a, b]  # eol\nb: 0\n\nimage: 0\n", ["a", "tag"]),
])
def test_entries_next_to_such_a_flow_collection_stay(
        text: str, keep: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    values = parse_values(text, "values.yaml")
    same_edits(text, {k: values[k] for k in keep}, monkeypatch)
    entries = files._plain_reading(text).entries  # type: ignore[union-attr]
    assert entries is not None and any(entries.flow_end)
    assert entries.without_others(text, keep) == text  # nothing left out


def test_entries_next_to_another_flow_collection_go() -> None:
    text = "b: 0\nc: 1\na: {}\n# about image\nimage: [x]\nx: 1\n\n# last\ntag: 0\n"
    entries = files._plain_reading(text).entries  # type: ignore[union-attr]
    assert entries is not None and not any(entries.flow_end)
    assert entries.without_others(text, {"b"}) == "b: 0\n\n# last\ntag: 0\n"
    assert entries.without_others(text, {"image"}) == (
        "b: 0\n# about image\nimage: [x]\n\n# last\ntag: 0\n")


def _fixture_values() -> list[Path]:
    found = sorted(p for p in (ROOT / "fixtures").rglob("values*.y*ml") if p.is_file())
    assert len(found) > 40
    return found


def test_the_edits_of_every_plain_fixture_values_file_are_the_whole_file_edits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = 0
    for path in _fixture_values():
        text = path.read_text()
        reading = files._plain_reading(text)
        if reading is None:
            continue
        plain += 1
        assert reading.keys == files._load(text)[0].keys, path
        values = parse_values(text, str(path))
        for wanted in subsets(values):
            same_edits(text, wanted, monkeypatch)
    assert plain > 30  # most are plain


@pytest.mark.parametrize(("name", "text"), [
    ("an anchor and an alias", "a: &x 1\nb: *x\n"),
    ("a tag", "a: !!str 1\nb: 2\n"),
    ("a merge key", "a: {x: 1}\nb:\n  <<: {y: 2}\n"),
    ("a key written twice", "a: 1\nb: 2\na: 3\n"),
    ("a nested key written twice", "a:\n  x: 1\n  x: 2\nb: 1\n"),
    ("a block scalar", "a: |\n  text\nb: 1\n"),
    ("a tab", "a:\t1\nb: 1\n"),
    ("CRLF line ends", "a: 1\r\nb: 1\r\n"),
    ("an explicit document", "---\na: 1\nb: 1\n"),
    ("two documents", "a: 1\n---\nb: 1\n"),
    ("a flow map at the root", "{a: 1, b: 2}\n"),
    ("a list at the root", "- a\n- b\n"),
    ("a key not at column 0", "  a: 1\n  b: 2\n"),
    ("a complex key", "? [a, b]\n: 1\nc: 2\n"),
    ("a multi-line quoted key", '"a\n  b": 1\nc: 2\n'),
    ("a directive", "%YAML 1.2\n---\na: 1\n"),
    ("malformed", "a: [1, 2\nb: 1\n"),
])
def test_anything_else_is_read_round_trip(name: str, text: str) -> None:
    assert files._plain_reading(text) is None, name


# --- generated files -------------------------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "image", "tag", "name", "port", "env", "x-y", "k8s"])
_SCALARS = st.one_of(
    st.integers(-5, 500).map(str), st.sampled_from(["true", "false", "null", "~", '""', "''"]),
    st.sampled_from(["plain", "two words", '"quoted # not a comment"', "'single'", "{}",
                     "[]", "[a, b]", "{k: v}", "x:y", "registry.example.com/app"]))
_EOL = st.sampled_from(["", "", "  # eol"])
_COMMENTS = st.lists(st.sampled_from(["", "# about it", "  # deeper", "    # - commented out",
                                      "# "]), max_size=3)


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = draw(_COMMENTS).copy()

    def block(indent: int, depth: int) -> None:
        keys = draw(st.lists(_KEYS, min_size=1, max_size=4, unique=True))
        for key in keys:
            pad = " " * indent
            lines.extend(f"{pad}{c}" if c.startswith("  ") else c
                         for c in draw(_COMMENTS))
            eol = draw(_EOL)
            kind = draw(st.sampled_from(["scalar", "scalar", "map", "list", "empty"])
                        if depth < 3 else st.just("scalar"))
            if kind == "scalar":
                lines.append(f"{pad}{key}: {draw(_SCALARS)}{eol}")
            elif kind == "empty":
                lines.append(f"{pad}{key}:{eol}")
            elif kind == "map":
                lines.append(f"{pad}{key}:{eol}")
                block(indent + 2, depth + 1)
            else:
                lines.append(f"{pad}{key}:{eol}")
                for _ in range(draw(st.integers(1, 3))):
                    item = draw(st.sampled_from(["scalar", "pair", "nested"]))
                    lines.extend(f"{pad}{c}" if c.startswith("  ") else c
                                 for c in draw(_COMMENTS))
                    if item == "scalar":
                        lines.append(f"{pad}  - {draw(_SCALARS)}{draw(_EOL)}")
                    else:
                        lines.append(f"{pad}  - name: {draw(_SCALARS)}")
                        lines.append(f"{pad}    value: {draw(_SCALARS)}{draw(_EOL)}")
                    if item == "nested":
                        lines.append(f"{pad}    sub:")
                        lines.append(f"{pad}      k: {draw(_SCALARS)}{draw(_EOL)}")

    block(0, 0)
    lines.extend(draw(_COMMENTS))
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=_documents(), data=st.data())
def test_generated_plain_files_edit_as_the_whole_file_does(
        monkeypatch: pytest.MonkeyPatch, text: str, data: st.DataObject) -> None:
    if files._plain_reading(text) is None:
        return  # a generated file that is not plain (a key twice in a map): nothing to compare
    assert files._plain_reading(text).keys == files._load(text)[0].keys  # type: ignore[union-attr]
    values = parse_values(text, "values.yaml")
    keys = list(values)
    chosen = data.draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([]))
    wanted = {k: values[k] for k in chosen}
    for key in chosen:
        if isinstance(wanted[key], dict) and wanted[key] and data.draw(st.booleans()):
            child = data.draw(st.sampled_from(list(wanted[key])))
            wanted[key] = {child: "changed"}
    same_edits(text, wanted, monkeypatch)
