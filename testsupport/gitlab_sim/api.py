"""The `/api/v4` entry point: authentication, token scopes, parameters, dispatch, errors.

Authentication follows GitLab's API guard: a token comes from `PRIVATE-TOKEN`, `Authorization:
Bearer`, or the `private_token`/`access_token` query parameters; an unknown token is
`401 {"message": "401 Unauthorized"}`; a token whose scopes do not cover the request (a `read_api`
token on a write) is `403 {"error": "insufficient_scope", ...}` as GitLab's OAuth error handler
renders it. Without a token only public projects and groups are visible (the rest is 404) and
writes are 401.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

# Importing the endpoint modules registers their routes on ROUTER.
from testsupport.gitlab_sim import (  # noqa: F401
    api_issues,
    api_merge_requests,
    api_namespaces,
    api_pipelines,
    api_repository,
)
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.routing import (
    API_PREFIX,
    ROUTER,
    UNAUTHORIZED,
    ApiError,
    Request,
    Response,
    Route,
)
from testsupport.gitlab_sim.state import Token

_USER_ROUTES = frozenset({"/user", "/users", "/users/:user_id"})
_INSUFFICIENT = "The request requires higher privileges than provided by the access token."


def route_template(method: str, raw_path: str) -> str | None:
    """The template a request is counted under (`/projects/:id/merge_requests`), if any."""
    if not raw_path.startswith(API_PREFIX):
        return None
    route, _, _ = ROUTER.match(method, raw_path[len(API_PREFIX) :] or "/")
    return route.template if route else None


def token_value(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    value = headers.get("private-token")
    if value:
        return value.strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return query.get("private_token") or query.get("access_token") or None


def handle(
    core: Core,
    method: str,
    raw_path: str,
    query_pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> Response:
    """Answer one API request; the caller holds the store lock."""
    path = raw_path[len(API_PREFIX) :] or "/"
    route, path_params, other_method = ROUTER.match(method, path)
    if route is None:
        if other_method:
            return Response(405, {"error": "405 Not Allowed"})
        return Response(404, {"error": "404 Not Found"})
    try:
        token = _authenticate(core, headers, dict(query_pairs))
        if token is None and route.writes:
            # GitLab's `authenticate_non_get!`: an anonymous write never reaches the endpoint.
            raise ApiError(401, UNAUTHORIZED)
        _check_scope(route, method, token)
        params = _params(query_pairs, headers, body)
        req = Request(
            method=method,
            path=path,
            query_pairs=tuple(query_pairs),
            params=params,
            path_params=path_params,
            user=core.store.users.get(token.user_id) if token else None,
            token=token,
            base_url=core.base_url,
        )
        result = route.handler(core, req)
    except ApiError as error:
        return Response(error.status, error.body, error.headers)
    if isinstance(result, Response):
        return result
    return Response(200, result)


def _authenticate(core: Core, headers: Mapping[str, str], query: Mapping[str, str]) -> Token | None:
    value = token_value(headers, query)
    if value is None:
        return None
    token = core.store.tokens.get(value)
    if token is None:
        raise ApiError(401, UNAUTHORIZED)
    if token.revoked:
        raise ApiError(
            401,
            {
                "error": "invalid_token",
                "error_description": "Token was revoked. You have to re-authorize from the user.",
            },
        )
    if token.expired:
        raise ApiError(
            401,
            {
                "error": "invalid_token",
                "error_description": (
                    "Token is expired. You can either do re-authorization or token refresh."
                ),
            },
        )
    return token


def _check_scope(route: Route, method: str, token: Token | None) -> None:
    if token is None:
        return
    reads = method in ("GET", "HEAD")
    allowed = {"api"}
    if reads:
        allowed.add("read_api")
        if route.template in _USER_ROUTES:
            allowed.add("read_user")
    if token.scopes & allowed:
        return
    raise ApiError(
        403,
        {
            "error": "insufficient_scope",
            "error_description": _INSUFFICIENT,
            "scope": " ".join(sorted(allowed, key=lambda s: (s != "api", s))),
        },
    )


def _params(
    query_pairs: list[tuple[str, str]], headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    _merge_pairs(params, query_pairs)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not body.strip():
        return params
    if content_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise ApiError(
                400,
                {
                    "error": "The provided content-type 'application/json' does "
                    "not match the content of the request body"
                },
            ) from None
        if isinstance(decoded, dict):
            for key, value in decoded.items():
                params[key.removesuffix("[]")] = value
    elif content_type in ("application/x-www-form-urlencoded", ""):
        _merge_pairs(params, parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _merge_pairs(params: dict[str, Any], pairs: list[tuple[str, str]]) -> None:
    for key, value in pairs:
        if key.endswith("[]"):
            name = key[:-2]
            existing = params.get(name)
            params[name] = [*existing, value] if isinstance(existing, list) else [value]
        else:
            params[key] = value
