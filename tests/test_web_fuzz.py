"""Hostile input to the HTTP API: random Unicode and bytes never produce a 5xx."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from mikke.web import SEARCH_PARAMS, create_app
from test_web import call, web_corpus

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["GPU", "OR", "-AI", '"液体', "冷却", "センター", "𠮷", "🙂"]
#: Text that looks like what the parameters expect, mixed with anything at all.
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "1", "100", "101", "-1", "1e3", "true", "2025-09-26", "2025-02-30", "AI", "投資分析"]),
    st.integers(-(10**12), 10**12).map(str),
)
QUERIES = st.one_of(
    st.text(max_size=600),
    st.text(alphabet=st.sampled_from('AIの冷却 "-OR\u3000\x00'), max_size=200),
    st.lists(st.sampled_from(WORDS), max_size=200).map(" ".join),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    root: Path = tmp_path_factory.mktemp("fuzz")
    return create_app(web_corpus(root), ["https://blog.example.jp"])


def assert_handled(app: Starlette, url: str) -> None:
    response = call(app, url)
    assert response.status_code < 500, (url, response.text)
    body = response.json()
    assert ("hits" in body or "tags" in body) if response.status_code == 200 else body["ok"] is False


@FUZZ
@given(q=QUERIES)
def test_random_queries_never_fail(app: Starlette, q: str) -> None:
    assert_handled(app, "/api/search?q=" + quote(q))
    assert_handled(app, "/api/facets?q=" + quote(q))


@FUZZ
@given(q=QUERIES, params=st.dictionaries(st.sampled_from(sorted(SEARCH_PARAMS - {"q"})), VALUES, max_size=7))
def test_random_parameters_never_fail(app: Starlette, q: str, params: dict[str, str]) -> None:
    query = "&".join(f"{name}={quote(value)}" for name, value in {"q": q, **params}.items())
    assert_handled(app, "/api/search?" + query)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_in_the_query_string_never_fail(app: Starlette, raw: bytes) -> None:
    assert_handled(app, "/api/search?q=" + quote_from_bytes(raw))
    assert_handled(app, "/api/search?" + quote_from_bytes(raw, safe="=&"))
