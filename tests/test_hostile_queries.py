"""Hostile queries: whatever is typed, the answer is results or a one-line error, never a traceback.

Time stays bounded because a query is capped at ``MAX_QUERY_CHARS`` characters and
``MAX_QUERY_TERMS`` words before anything is analysed or searched.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mikke import Config, QueryError, Searcher, SearchResult, parse_query
from mikke._query import MAX_QUERY_CHARS, MAX_QUERY_TERMS
from mikke.cli import main

WORDS = ["液体冷却", "データセンター", "GPU", "ＧＰＵ", "サーバ", "OR", "-", '"', "-冷却", '"液体', "AND", "NOT"]

#: Any code point at all, lone surrogates included (they arrive from undecodable argv bytes).
any_char = st.characters(exclude_categories=())
hostile = st.one_of(
    st.text(any_char, max_size=80),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs", "Cs"]), max_size=40),  # controls, invisibles
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=40),  # emoji
    st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join),  # quotes, OR and minus in odd places
    st.lists(st.sampled_from(WORDS), min_size=1000, max_size=1200).map(" OR ".join),  # over a thousand ORs
    st.text(any_char, min_size=MAX_QUERY_CHARS + 1, max_size=10_000),  # far too long
)

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cli_args(sample_config: Config) -> list[str]:
    return ["--corpus", str(sample_config.corpus), "--index", str(sample_config.index)]


@QUICK
@given(query=hostile)
def test_search_answers_results_or_a_query_error(searcher: Searcher, query: str) -> None:
    try:
        result = searcher.search(query)
    except QueryError as error:
        message = str(error)
        assert message and "\n" not in message
        return
    assert isinstance(result, SearchResult)
    assert len(result.query) <= MAX_QUERY_CHARS
    assert all(hit.snippet.text for hit in result.hits)


@settings(QUICK, max_examples=50)
@given(query=hostile)
def test_cli_search_prints_results_or_one_error_line(cli_args: list[str], query: str) -> None:
    result = CliRunner().invoke(main, [*cli_args, "search", "--json", "--", query])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    else:
        assert result.stdout.startswith("{")


def test_a_10000_character_query_is_refused_before_analysis() -> None:
    with pytest.raises(QueryError, match="too long: 10000 characters"):
        parse_query("液" * 10_000)


def test_thousands_of_or_terms_are_refused_with_the_cap() -> None:
    query = " OR ".join("山川海空花鳥風月雪森林石岩砂土水火木金星雲雨光音色形力心体目耳口手足頭顔声"[:45] * 2)
    assert len(query) <= MAX_QUERY_CHARS  # fits the length cap, not the word cap
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_TERMS}"):
        parse_query(query)


def test_lone_surrogates_are_replaced_not_fatal(searcher: Searcher) -> None:
    result = searcher.search("液体冷却 \udcff")  # what undecodable argv bytes turn into
    assert result.hits and "液体冷却" in result.hits[0].snippet.text
    with pytest.raises(QueryError, match="nothing to search for"):
        parse_query("\ud800\udfff")


def test_unbalanced_quote_is_a_phrase_to_the_end(searcher: Searcher) -> None:
    result = searcher.search('"液体冷却')
    assert result.hits and all("液体冷却" in hit.snippet.text for hit in result.hits)


def test_control_characters_and_emoji_alone_are_a_clear_error() -> None:
    for query in ("\x1b\x07\x7f", "🎉🔥", "\ufeff\u3000\t"):
        with pytest.raises(QueryError, match=r"nothing to search for|empty query"):
            parse_query(query)
