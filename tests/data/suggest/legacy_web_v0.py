"""legacy-web 0.x -> app-template 2.x, written by hand by the platform team.

legacy-web was the first shared template (2019); its forks name a few things differently.
"""

from typing import Any

# rename is imported on purpose next to the others: suggest must reuse it.
from migrator.mapping import convert, drop, rename

FAMILY = "legacy-web"
FROM = ">=0.1.0,<1.0.0"
TO = "2.0.0"


def split_image(value: Any) -> dict[str, Any]:
    """`repo:tag` -> image.repository and image.tag (a digest stays in the repository)."""
    repository, _, tag = str(value).rpartition(":")
    if not repository or "/" in tag:
        return {"image": {"repository": str(value)}}
    return {"image": {"repository": repository, "tag": tag}}


RULES = [
    # The image was one string.
    convert("imageRef", "", split_image, "image: repo:tag split in two"),
    rename("replicaCount",   "replicas"),   # odd spacing, kept on purpose
    drop("debug", "the central chart has no debug mode"),

    # Probes came late to legacy-web, under their own name.
    rename("health", "probes.liveness"),
    # Add new rules above this line? No: suggest appends below it, and that is fine.
]
