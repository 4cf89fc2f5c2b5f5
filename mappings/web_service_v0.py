"""web-service 0.x -> app-template 2.0.0: the pre-platform template family.

web-service kept the workload's settings under `deployment.`, the image as one reference string
and one probe path for both probes. Its `nameOverride`, `fullnameOverride`, `imagePullSecrets`,
`serviceAccount`, `podSecurityContext`, `securityContext`, `service` and `ingress` (0.4.0) have
the central chart's keys and shapes already, so they need no rule.
"""

from typing import Any

from migrator.mapping import convert, rename

FAMILY = "web-service"
FROM = ">=0.1.0,<1.0.0"
TO = "2.0.0"


def split_image(ref: Any) -> Any:
    """Split `repo:tag` into `{"repository": "repo", "tag": "tag"}`, so that app-template's
    `"{repository}:{tag}"` names the same image.

    A registry port (`host:5000/app`) is not a tag. Without a tag the tag is "": both charts then
    take their appVersion, and the migration pins the fork's. app-template 2.0.0 has no digest
    field, so a digest rides in the tag (`1.2@sha256:...`), or, without a tag, the digest's
    algorithm stays with the repository; the image is the same, the version label is not.
    """
    if not isinstance(ref, str):
        return ref  # not a web-service image reference: leave it for the report to show
    name, at, digest = ref.strip().partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        repository, tag = name[:colon], name[colon + 1:]
    else:
        repository, tag = name, ""
    if at:
        if tag:
            tag = f"{tag}@{digest}"
        else:
            algorithm, _, hexdigest = digest.partition(":")
            repository, tag = f"{repository}@{algorithm}", hexdigest
    return {"repository": repository, "tag": tag}


def both_probes(path: Any) -> dict[str, Any]:
    """One probe path becomes the httpGet path of the liveness and the readiness probe."""
    return {"probes": {"liveness": {"httpGet": {"path": path}},
                       "readiness": {"httpGet": {"path": path}}}}


RULES = [
    # `image` becomes a map first, so that the pull policy can move into it.
    convert("image", "image", split_image, "one image reference split into repository and tag"),
    rename("imagePullPolicy", "image.pullPolicy"),
    rename("deployment.replicas", "replicas"),
    rename("deployment.podAnnotations", "pod.annotations"),
    rename("deployment.podLabels", "pod.labels"),
    rename("deployment.env", "env"),
    rename("deployment.resources", "resources"),
    rename("deployment.nodeSelector", "nodeSelector"),
    rename("deployment.tolerations", "tolerations"),
    rename("deployment.affinity", "affinity"),
    rename("probes.initialDelaySeconds", "probes.liveness.initialDelaySeconds"),
    convert("probes.path", "", both_probes, "one path for both probes"),
]
