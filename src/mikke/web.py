"""The HTTP API and the search box; ``mikke serve`` runs ``create_app`` on uvicorn.

Routes:

* ``GET /api/search?q=&limit=&offset=&tag=&category=&since=&until=&per_post=``:
  the JSON of ``mikke search --json`` (``tag`` and ``category`` may repeat).
* ``GET /api/facets?q=``: tags and categories of the matching posts, with counts.
* ``GET /healthz``: ``{"ok": true}`` while the index can be searched, else the 503 error.
* ``GET /widget.js``, ``GET /widget.css``: the search box; ``GET /``: a demo page.

Every error is ``{"ok": false, "error": "..."}`` with a real status code: 400
for bad parameters, 404, 405, 503 when the index is gone (``code``
``index_unavailable``) or damaged (``index_corrupt``, until ``mikke index``
repairs it: no restart is needed). One ``Searcher`` is
shared by all requests of a process and picks up a committed reindex by itself;
searches take turns on it (refreshing the reader closes files another search
could be reading, and the GIL runs one at a time anyway); for more cores, run
more ``mikke serve`` processes behind a proxy. No parameter reaches the file system: the static
files are read once, from the package, by fixed names.

>>> error_body("empty query")
{'ok': False, 'error': 'empty query'}
>>> cors_headers("https://blog.example.jp", frozenset({"https://blog.example.jp"}))
{'Access-Control-Allow-Origin': 'https://blog.example.jp', 'Vary': 'Origin'}
>>> cors_headers("https://evil.example", frozenset({"https://blog.example.jp"}))
{'Vary': 'Origin'}
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from whoosh.index import EmptyIndexError

from ._config import Config
from ._errors import ConfigError, IndexCorruptError, IndexMissingError, MikkeError, QueryError
from ._facets import facets
from ._render import result_to_dict
from ._search import DEFAULT_LIMIT, MAX_LIMIT, Searcher

#: Deepest page a client may ask for (``offset`` cap).
MAX_OFFSET = 1000
#: Most ``tag`` (or ``category``) values in one request, and the longest value.
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 100
#: How long browsers and proxies may keep the search box files.
STATIC_CACHE = "public, max-age=3600"

SEARCH_PARAMS = frozenset({"q", "limit", "offset", "tag", "category", "since", "until", "per_post"})
FACET_PARAMS = frozenset({"q"})

_STATIC = {
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
    "/": ("demo.html", "text/html; charset=utf-8"),
}
_DEMO_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_TRUE, _FALSE = {"", "1", "true", "yes", "on"}, {"0", "false", "no", "off"}

log = logging.getLogger("mikke.web")


def error_body(message: str, code: str | None = None) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"ok": False, **({"code": code} if code else {}), "error": message}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None, code: str | None = None
) -> JSONResponse:
    """An error with its status code (never cached)."""
    headers = {**(headers or {}), "Cache-Control": "no-store"}
    return JSONResponse(error_body(message, code), status_code=status, headers=headers)


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """CORS response headers for a request from ``origin``: allowed only when configured."""
    headers = {}
    if origin and (origin in allowed or "*" in allowed):
        headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
    headers["Vary"] = "Origin"
    return headers


def check_origins(origins: Iterable[str]) -> frozenset[str]:
    """Validate ``--allow-origin`` values: ``scheme://host[:port]`` or ``*``.

    >>> sorted(check_origins(["https://blog.example.jp/", "http://localhost:4000"]))
    ['http://localhost:4000', 'https://blog.example.jp']
    """
    checked = set()
    for origin in origins:
        origin = origin.rstrip("/")
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"--allow-origin takes an origin like https://blog.example.jp, not {origin!r}")
        checked.add(origin)
    return frozenset(checked)


# --- parameters -----------------------------------------------------------------


def _params(request: Request, allowed: frozenset[str]) -> QueryParams:
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0][:40]!r} (use {', '.join(sorted(allowed))})")
    for name in set(params) - {"tag", "category"}:
        if len(params.getlist(name)) > 1:
            raise QueryError(f"{name} given more than once")
    return params


def _int(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"\d{1,6}", value.strip()) or not low <= int(value) <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {value[:20]!r}")
    return int(value)


def _flag(params: QueryParams, name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value.lower() not in _TRUE | _FALSE:
        raise QueryError(f"{name} must be true or false, not {value[:20]!r}")
    return value.lower() in _TRUE


def _values(params: QueryParams, name: str) -> list[str]:
    values = [v.strip() for v in params.getlist(name)]
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(f"at most {MAX_FILTER_VALUES} {name} values")
    if any(not v or len(v) > MAX_FILTER_CHARS for v in values):
        raise QueryError(f"each {name} must be 1 to {MAX_FILTER_CHARS} characters")
    return values


# --- the app ---------------------------------------------------------------------

Handler = Callable[[Request], dict[str, Any]]


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run a handler in a worker thread; turn every failure into the error shape."""

    async def endpoint(request: Request) -> Response:
        try:
            data = await run_in_threadpool(handler, request)
        except (IndexMissingError, EmptyIndexError):
            return error_response(503, "the index is not available: run `mikke index`", code="index_unavailable")
        except IndexCorruptError as error:
            return error_response(503, str(error), code=IndexCorruptError.code)
        except MikkeError as error:
            return error_response(400, str(error))
        except Exception:
            log.exception("unexpected error for %s", request.url.path)
            return error_response(500, "internal error")
        return JSONResponse(data, headers={"Cache-Control": "no-cache"})

    return endpoint


def _static(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    """A file of the package, read once, with an ETag and cache headers."""
    body = resources.files("mikke").joinpath("static", name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {"Cache-Control": STATIC_CACHE, "ETag": etag}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = _DEMO_CSP

    async def endpoint(request: Request) -> Response:
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    return endpoint


def create_app(config: Config, allow_origins: Iterable[str] = ()) -> Starlette:
    """The ASGI app over the index of ``config``; raises ``IndexMissingError`` without one.

    ``allow_origins``: origins (``https://blog.example.jp``) whose pages may call
    the API from a browser; ``*`` allows any.
    """
    allowed = check_origins(allow_origins)
    searcher = Searcher(config)
    turn = threading.Lock()

    def search(request: Request) -> dict[str, Any]:
        params = _params(request, SEARCH_PARAMS)
        query = params.get("q", "")  # checked by the library: empty, too long, only stopwords
        limit = _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int(params, "offset", 0, 0, MAX_OFFSET)
        tags, categories = _values(params, "tag"), _values(params, "category")
        since, until, per_post = params.get("since"), params.get("until"), _flag(params, "per_post")
        with turn:
            result = searcher.search(
                query,
                limit=limit,
                offset=offset,
                tags=tags,
                categories=categories,
                since=since,
                until=until,
                per_post=per_post,
            )
        return result_to_dict(result)

    def facet_counts(request: Request) -> dict[str, Any]:
        query = _params(request, FACET_PARAMS).get("q", "")
        with turn:
            return facets(searcher, query).to_dict()

    def health(request: Request) -> dict[str, Any]:
        with turn:
            searcher.current()
        return {"ok": True}

    async def cors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        headers = cors_headers(request.headers.get("origin"), allowed)
        if request.method == "OPTIONS" and request.url.path.startswith("/api/"):
            if "Access-Control-Allow-Origin" not in headers:
                return error_response(403, "origin not allowed")
            preflight = {"Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "86400"}
            return Response(status_code=204, headers={**headers, **preflight})
        response = await call_next(request)
        if request.url.path.startswith("/api/"):
            response.headers.update(headers)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return error_response(error.status_code, error.detail, error.headers)

    def warm_up() -> None:
        """Load the dictionary and the index files before the first reader waits for them."""
        with contextlib.suppress(MikkeError), turn:
            searcher.search("検索")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(warm_up)
        yield
        searcher.close()

    routes = [
        Route("/api/search", _api(search)),
        Route("/api/facets", _api(facet_counts)),
        Route("/healthz", _api(health)),
        *(Route(path, _static(name, media_type)) for path, (name, media_type) in _STATIC.items()),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=cors)],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
