"""Deploy-time --set flags as values."""

from __future__ import annotations

from migrator.model import SetFlag
from migrator.values.flags import flag_values


def test_a_run_time_value_renders_as_its_own_text_even_with_braces_and_commas() -> None:
    flags = [SetFlag("set", "image.repository", "{{.DOCKER_REGISTRY}}/team/app", True),
             SetFlag("set", "hosts", "$A,$B", True)]
    assert flag_values(flags, ()) == {"image": {"repository": "{{.DOCKER_REGISTRY}}/team/app"},
                                      "hosts": "$A,$B"}


def test_a_static_value_keeps_helms_own_syntax() -> None:
    flags = [SetFlag("set", "hosts", "{a,b}", False), SetFlag("set", "replicas", "3", False)]
    assert flag_values(flags, ()) == {"hosts": ["a", "b"], "replicas": 3}
