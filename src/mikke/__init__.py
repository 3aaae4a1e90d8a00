"""mikke (みっけ): Japanese full-text search for Markdown blogs.

>>> from mikke import Config, Searcher, update_index
"""

from ._analysis import analyze, analyzer
from ._config import Config, load_config
from ._corpus import iter_post_paths, load_post
from ._errors import (
    ConfigError,
    CorpusError,
    EmptyQueryError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    MikkeError,
    PostError,
    PostUnreadableError,
    QueryError,
    QueryTooLongError,
)
from ._indexing import IndexReport, update_index
from ._models import Explanation, Hit, Passage, Post, SearchResult, Section, Snippet
from ._query import ParsedQuery, parse_query
from ._request import SearchRequest
from ._search import Searcher
from ._snippets import make_snippet, to_ansi, to_html
from ._store import index_exists

__all__ = [
    "Config",
    "ConfigError",
    "CorpusError",
    "EmptyQueryError",
    "Explanation",
    "Hit",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMissingError",
    "IndexReport",
    "MikkeError",
    "ParsedQuery",
    "Passage",
    "Post",
    "PostError",
    "PostUnreadableError",
    "QueryError",
    "QueryTooLongError",
    "SearchRequest",
    "SearchResult",
    "Searcher",
    "Section",
    "Snippet",
    "analyze",
    "analyzer",
    "index_exists",
    "iter_post_paths",
    "load_config",
    "load_post",
    "make_snippet",
    "parse_query",
    "to_ansi",
    "to_html",
    "update_index",
]
