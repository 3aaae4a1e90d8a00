"""One exception tree for everything a user can get wrong or run into.

MikkeError                  base: a one-line message meant for the user
├── ConfigError             bad mikke.toml, environment variable or option
├── CorpusError             the corpus directory is missing or unreadable
├── PostError               one post cannot be read or parsed (it is skipped)
├── QueryError              empty, all-stopword, too long or malformed query
├── IndexMissingError       no index yet where one is expected
├── IndexCorruptError       an index file is damaged, missing or not what was written
└── IndexBusyError          another reindex job holds the lock
"""

from __future__ import annotations


class MikkeError(Exception):
    """Base class: ``str(error)`` is a one-line message for the user."""


class ConfigError(MikkeError):
    """A configuration value is invalid."""


class CorpusError(MikkeError):
    """The corpus directory is missing or cannot be read."""


class PostError(MikkeError):
    """A single post is malformed; the indexer reports it and goes on."""


class QueryError(MikkeError):
    """The query cannot be searched (empty, only stopwords, too long, bad filter)."""


class IndexMissingError(MikkeError):
    """There is no index at the configured location."""


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
