"""A values file is parsed once: the round-trip reading that the edit starts from also says where
each key is written, exactly as composing the file alone says it."""

from __future__ import annotations

import itertools

import pytest

from migrator.values.files import Duplicate, read, render_values
from migrator.verify.render import parse_values

_unique = itertools.count()


def fresh(text: str) -> str:
    """`text` with a trailing comment no other test wrote: read anew, not found in the cache."""
    return f"{text}# reading {next(_unique)}\n"


CASES = {
    "nested duplicates": "a: 1\nb:\n  c: 1\n  c: 2\n  d: 3\na: 2\na: 3\n",
    "duplicate as the first key, with comments": (
        "# opening\n\n# about a\na: 1  # eol\n# below a\nb: 2\na: {x: 1}\n"),
    "duplicates in list items": (
        "items:\n  - name: x\n    v: 1\n    v: 2\n  - name: y\n    w: 1\n    name: z\n"),
    "flow map duplicates": "m: {a: 1, a: 2, b: {c: 1, c: 2}}\n",
    "anchor dropped, alias kept": "a: &x {p: 1, p: 2}\na: 2\nb: *x\nc: *x\n",
    "alias to a map walked once": "base: &b\n  k: 1\n  k: 2\none: *b\ntwo:\n  <<: *b\n  k: 3\n",
    "merge key and a duplicate": "a: &a {x: 1}\nc:\n  <<: *a\n  y: 1\n  y: 2\n",
    "quoted merge-like key": "'<<': 1\n\"<<\": 2\nz: 3\n",
    "keys that are not scalars": "? [a, b]\n: 1\n? {k: v}\n: 2\n? [a, b]\n: 3\nk: 1\nk: 2\n",
    "dotted key text": "a.b: 1\na:\n  b: 2\n  b: 3\n",
    "empty": "",
    "comments only": "# nothing\n",
    "a scalar": "just-a-string\n",
    "a list": "- a: 1\n  a: 2\n- b: 1\n",
    "malformed": "a: [1, 2\nb: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "an alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
        for i in range(6)),
    "a second merge key": "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n  z: 1\n  z: 2\n",
    "an undefined alias": "a: *nowhere\nb: 1\nb: 2\n",
}


@pytest.mark.parametrize("name", CASES)
def test_the_edited_reading_gives_the_key_lines_composing_alone_gives(name: str) -> None:
    text = fresh(CASES[name])
    composed = read(text, edited=False)
    edited = read(text, edited=True)
    assert edited.keys == composed.keys
    assert composed.problem is None


def test_a_file_the_round_trip_reader_refuses_keeps_its_key_lines_and_says_why() -> None:
    reading = read(fresh(CASES["a second merge key"]), edited=True)
    assert reading.problem is not None
    assert reading.keys.duplicates == (Duplicate("c.z", 7, (6,)),)
    assert reading.keys.lines == {"a": 1, "a.x": 1, "b": 2, "b.y": 2, "c": 3, "c.z": 7}


def test_key_lines_point_at_the_occurrence_helm_uses_and_the_first_list_item() -> None:
    keys = read(fresh(CASES["duplicates in list items"]), edited=True).keys
    assert keys.lines == {"items": 1, "items.[].name": 2, "items.[].v": 4, "items.[].w": 6}
    assert keys.duplicates == (Duplicate("items.[].v", 4, (3,)),
                               Duplicate("items.[].name", 7, (5,)))


def test_a_file_not_edited_says_no_round_trip_problem_even_when_read_for_an_edit_before() -> None:
    text = fresh(CASES["a second merge key"])
    assert read(text, edited=True).problem is not None
    assert read(text, edited=False).problem is None


def _unmarked(written: str) -> str:
    return "".join(line for line in written.splitlines(keepends=True)
                   if not line.lstrip().startswith("# reading"))


@pytest.mark.parametrize("name", ["nested duplicates", "duplicate as the first key, with comments",
                                  "anchor dropped, alias kept", "a second merge key"])
def test_each_edit_starts_from_the_file_as_written_not_from_an_earlier_edit(name: str) -> None:
    text, twin = fresh(CASES[name]), fresh(CASES[name])
    before = read(text, edited=True)
    some, other = {"zz": 1}, parse_values(text, "values.yaml")  # nothing, and all it holds
    render_values(some, text)  # takes the document read above and empties it
    assert _unmarked(render_values(other, text)) == _unmarked(render_values(other, twin))
    assert _unmarked(render_values(some, text)) == _unmarked(render_values(some, twin))
    assert read(text, edited=True) == before
