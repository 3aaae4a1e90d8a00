"""One exception tree for everything a user can get wrong or run into.

Each class carries a stable ``code``: the HTTP API sends it beside the English
message, so a client can show its own text (the search box shows Japanese).

MikkeError                  base: a one-line message meant for the user        (internal)
├── ConfigError             bad mikke.toml, environment variable or option     (bad_parameter)
├── CorpusError             the corpus directory is missing or unreadable      (internal)
├── PostError               one post cannot be read or parsed (it is skipped)  (internal)
│   └── PostUnreadableError its file is there but cannot be read now (kept)    (internal)
├── QueryError              malformed query or parameter                       (bad_parameter)
│   ├── EmptyQueryError     nothing to search for: empty, or only stopwords    (empty_query)
│   └── QueryTooLongError   too many characters or words                      (query_too_long)
├── IndexMissingError       no index yet where one is expected                 (index_unavailable)
├── IndexCorruptError       an index file is damaged, missing or not as written (index_corrupt)
└── IndexBusyError          another reindex job holds the lock                 (internal)

>>> EmptyQueryError("empty query").code
'empty_query'
"""

from __future__ import annotations


class MikkeError(Exception):
    """Base class: ``str(error)`` is a one-line message for the user."""

    code = "internal"


class ConfigError(MikkeError):
    """A configuration value is invalid."""

    code = "bad_parameter"


class CorpusError(MikkeError):
    """The corpus directory is missing or cannot be read."""


class PostError(MikkeError):
    """A single post is malformed; the indexer reports it and goes on."""


class PostUnreadableError(PostError):
    """A post's file is there but cannot be read now (permissions, I/O): the index keeps its last version."""


class QueryError(MikkeError):
    """The query or a search parameter cannot be used (bad filter, bound, value)."""

    code = "bad_parameter"


class EmptyQueryError(QueryError):
    """The query holds nothing to search for: it is empty, or only stopwords and symbols."""

    code = "empty_query"


class QueryTooLongError(QueryError):
    """The query has too many characters or words."""

    code = "query_too_long"


class IndexMissingError(MikkeError):
    """There is no index at the configured location."""

    code = "index_unavailable"


class IndexCorruptError(MikkeError):
    """A file of the index is damaged, missing or not the one written; ``mikke index`` repairs it.

    >>> str(IndexCorruptError("index/MAIN_x.postings", "fails its checksum"))
    'the index file index/MAIN_x.postings fails its checksum: run `mikke index` to repair it'
    """

    code = "index_corrupt"

    def __init__(self, file: object, reason: str) -> None:
        super().__init__(f"the index file {file} {reason}: run `mikke index` to repair it")
        self.file, self.reason = str(file), reason


class IndexBusyError(MikkeError):
    """Another reindex job holds the index lock."""
