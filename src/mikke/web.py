"""The HTTP API and the search box; ``mikke serve`` runs ``create_app`` on uvicorn.

Routes:

* ``GET /api/search?q=&limit=&offset=&tag=&category=&since=&until=&group=&per_post=&prefix=&explain=``:
  the JSON of ``mikke search --json`` (``tag`` and ``category`` may repeat; the
  parameters are ``SearchRequest``'s fields, parsed by it).
* ``GET /api/facets?q=``: tags and categories of the matching posts, with counts.
* ``GET /healthz``: ``{"ok": true}`` while the index can be searched, else the 503 error.
* ``GET /widget.js``, ``GET /widget.css``: the search box; ``GET /``: a demo page.

Every error is ``{"ok": false, "code": "...", "error": "..."}`` with a real
status code: 400 for bad parameters (``code``: ``bad_parameter``, ``empty_query``,
``query_too_long``), 404 ``not_found``, 405 ``method_not_allowed``, 503
``index_unavailable`` when the index is gone or ``index_corrupt`` when it is damaged (until
``mikke index`` repairs it: no restart is needed), 500 ``internal``. The ``code`` is
stable, for a client to show its own message; ``error`` is English. One ``Searcher`` is
shared by all requests of a process and picks up a committed reindex by itself;
searches take turns on it (refreshing the reader closes files another search
could be reading, and the GIL runs one at a time anyway); for more cores, run
more ``mikke serve`` processes behind a proxy. No parameter reaches the file system: the static
files are read once, from the package, by fixed names.

>>> error_body("empty_query", "empty query")
{'ok': False, 'code': 'empty_query', 'error': 'empty query'}
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

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from whoosh.index import EmptyIndexError

from ._config import Config
from ._errors import ConfigError, IndexMissingError, MikkeError, QueryError
from ._facets import facets
from ._render import result_to_dict
from ._request import API_PARAMS, SearchRequest, fields
from ._search import Searcher

#: Worker threads that run requests (anyio's default is 40): searches take turns on the one
#: ``Searcher`` anyway, and each thread holds its own Sudachi tokenizer and buffers.
SERVER_THREADS = 4
#: How long browsers and proxies may keep the search box files.
STATIC_CACHE = "public, max-age=3600"

SEARCH_PARAMS = API_PARAMS
FACET_PARAMS = frozenset({"q"})

_STATIC = {
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
    "/": ("demo.html", "text/html; charset=utf-8"),
}
_DEMO_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
#: The code of each HTTP error status (a library error brings its own).
HTTP_CODES = {
    400: "bad_parameter",
    403: "origin_not_allowed",
    404: "not_found",
    405: "method_not_allowed",
    414: "uri_too_long",
    431: "headers_too_large",
    500: "internal",
    503: "index_unavailable",
}
#: The status of each library error code that is not a client's mistake (400).
CODE_STATUS = {"index_unavailable": 503, "index_corrupt": 503, "internal": 500}

log = logging.getLogger("mikke.web")


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape of the API: a stable ``code`` and an English message."""
    return {"ok": False, "code": code, "error": message}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None, code: str | None = None
) -> JSONResponse:
    """An error with its status code (never cached); ``code`` defaults to the status's."""
    headers = {**(headers or {}), "Cache-Control": "no-store"}
    body = error_body(code or HTTP_CODES.get(status, "bad_parameter" if status < 500 else "internal"), message)
    return JSONResponse(body, status_code=status, headers=headers)


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


def _params(request: Request, allowed: frozenset[str]) -> dict[str, list[str]]:
    """The request's query parameters, each a list of values: only ``allowed`` names, each once
    (but ``tag`` and ``category``, which may repeat)."""
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0][:40]!r} (use {', '.join(sorted(allowed))})")
    for name in set(params) - {"tag", "category"}:
        if len(params.getlist(name)) > 1:
            raise QueryError(f"{name} given more than once")
    return {name: params.getlist(name) for name in params}


def search_request(params: Mapping[str, list[str]]) -> SearchRequest:
    """A ``SearchRequest`` from the query parameters (named as its fields' ``api``).

    >>> search_request({"q": ["GPU"], "tag": ["AI", "チップ"], "group": ["post"]}).tags
    ('AI', 'チップ')
    """
    values: dict[str, Any] = {}
    for field in fields():
        given = params.get(field.metadata["api"])
        if given is not None:
            values[field.name] = given if field.metadata["kind"] == "list" else given[0]
    values.setdefault("query", "")  # checked by the library: empty, too long, only stopwords
    return SearchRequest.parse(values)


# --- the app ---------------------------------------------------------------------

Handler = Callable[[Request], dict[str, Any]]


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run a handler in a worker thread; turn every failure into the error shape."""

    async def endpoint(request: Request) -> Response:
        try:
            data = await run_in_threadpool(handler, request)
        except (IndexMissingError, EmptyIndexError):
            return error_response(503, "the index is not available: run `mikke index`", code="index_unavailable")
        except MikkeError as error:
            return error_response(CODE_STATUS.get(error.code, 400), str(error), code=error.code)
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
        search_for = search_request(_params(request, SEARCH_PARAMS))
        with turn:
            result = searcher.search(search_for)
        return result_to_dict(result)

    def facet_counts(request: Request) -> dict[str, Any]:
        query = _params(request, FACET_PARAMS).get("q", [""])[0]
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
        anyio.to_thread.current_default_thread_limiter().total_tokens = SERVER_THREADS
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
