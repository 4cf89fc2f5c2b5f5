"""REST plumbing shared by the endpoint modules: routes, parameters, errors, pagination.

Parameter and error handling follow GitLab's Grape layer: a missing required parameter is
`400 {"error": "title is missing"}`, a bad enum value is `400 {"error": "sort does not have a valid
value"}`, a missing record is `404 {"message": "404 Project Not Found"}`, an unknown route is
`404 {"error": "404 Not Found"}`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote

from testsupport.gitlab_sim.state import Token, User

if TYPE_CHECKING:
    from testsupport.gitlab_sim.core import Core

API_PREFIX = "/api/v4"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

Json = Any
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def not_found(what: str) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found"})


def bad_request(message: Json) -> ApiError:
    return ApiError(400, {"message": message})


FORBIDDEN = {"message": "403 Forbidden"}
UNAUTHORIZED = {"message": "401 Unauthorized"}


@dataclass(frozen=True)
class Response:
    status: int
    body: Json
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # raw, without /api/v4 and without the query
    query_pairs: tuple[tuple[str, str], ...]
    params: Mapping[str, Json]
    path_params: Mapping[str, str]
    user: User | None
    token: Token | None
    base_url: str

    def api_url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def require_user(self) -> User:
        if self.user is None:
            raise ApiError(401, UNAUTHORIZED)
        return self.user

    # -- parameters ----------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.params

    def required(self, *names: str) -> None:
        missing = [n for n in names if _blank(self.params.get(n))]
        if missing:
            raise ApiError(400, {"error": ", ".join(f"{n} is missing" for n in missing)})

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, list):
            value = value[-1] if value else ""
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, {"error": f"{name} is invalid"}) from None

    def flag(self, name: str, default: bool | None = None) -> bool | None:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "t", "yes", "y", "on"):
            return True
        if text in ("false", "0", "f", "no", "n", "off"):
            return False
        raise ApiError(400, {"error": f"{name} is invalid"})

    def items(self, name: str) -> list[str] | None:
        """A comma-separated string or an array (`labels=a,b`, `labels[]=a`, JSON `["a"]`)."""
        value = self.params.get(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(i).strip() for i in items if str(i).strip()]

    def integers(self, name: str) -> list[int] | None:
        items = self.items(name)
        if items is None:
            return None
        try:
            return [int(i) for i in items]
        except ValueError:
            raise ApiError(400, {"error": f"{name} is invalid"}) from None

    def choice(self, name: str, allowed: Sequence[str], default: str | None) -> str | None:
        value = self.text(name)
        if value is None or value == "":
            return default
        if value not in allowed:
            raise ApiError(400, {"error": f"{name} does not have a valid value"})
        return value

    def at_least_one(self, names: Sequence[str]) -> None:
        if not any(n in self.params for n in names):
            listed = ", ".join(names)
            raise ApiError(
                400, {"error": f"{listed} are missing, at least one parameter must be provided"}
            )


def _blank(value: Json) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


Handler = Callable[["Core", Request], Json]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD")


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        # `:name` matches one raw segment; values are percent-decoded after matching, so
        # `platform%2Fapps%2Forders` and `feature%2Fx` arrive as one parameter each.
        regex = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", template)
        pattern = re.compile(f"^{regex}/?$")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, pattern, handler))
            return handler

        return register

    def get(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("GET", template)

    def post(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("POST", template)

    def put(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("PUT", template)

    def delete(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("DELETE", template)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, decoded path params, whether the path exists for another method)."""
        other_method = False
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return route, params, False
            other_method = True
        return None, {}, other_method


ROUTER = Router()


# -- pagination -----------------------------------------------------------------------------------


def paginate(req: Request, items: Sequence[T], render: Callable[[T], Json]) -> Response:
    """Offset pagination with GitLab's headers (Kaminari's semantics for out-of-range pages).

    Only the records on the requested page are rendered.
    """
    per_page = req.integer("per_page", DEFAULT_PER_PAGE) or DEFAULT_PER_PAGE
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, req.integer("page", 1) or 1)
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    start = (page - 1) * per_page
    chunk = [render(item) for item in items[start : start + per_page]]
    out_of_range = page > total_pages
    next_page = page + 1 if page < total_pages else None
    prev_page = page - 1 if page > 1 and not out_of_range else None

    def link(target: int) -> str:
        return f"<{_page_url(req, target, per_page)}>"

    links = []
    if prev_page:
        links.append(f'{link(prev_page)}; rel="prev"')
    if next_page:
        links.append(f'{link(next_page)}; rel="next"')
    links.append(f'{link(1)}; rel="first"')
    links.append(f'{link(total_pages)}; rel="last"')
    headers = {
        "Link": ", ".join(links),
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
    }
    return Response(200, chunk, headers)


def _page_url(req: Request, page: int, per_page: int) -> str:
    # Rails' to_query sorts keys; page and per_page always appear.
    pairs = [(k, v) for k, v in req.query_pairs if k not in ("page", "per_page")]
    pairs += [("page", str(page)), ("per_page", str(per_page))]
    pairs.sort(key=lambda kv: kv[0])
    query = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)
    return f"{req.api_url(req.path)}?{query}"
