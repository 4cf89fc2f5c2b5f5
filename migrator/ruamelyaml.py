"""ruamel.yaml's `YAML`, cheaper to make: a plan makes one per values file it reads or writes.

Each `YAML()` looks for plug-ins by listing ruamel.yaml's own package folder (a `glob` on
disk), about a tenth of a millisecond, on every instance: the folder does not change while the
tool runs, so it is listed once. Instances are not shared: each holds its reader's state.
"""

from __future__ import annotations

import functools
from typing import Any

from ruamel.yaml import YAML as _RuamelYAML


class YAML(_RuamelYAML):
    def official_plug_ins(self) -> Any:
        return list(_plug_ins())


@functools.cache
def _plug_ins() -> tuple[str, ...]:
    return tuple(_RuamelYAML.official_plug_ins(_RuamelYAML.__new__(_RuamelYAML)))
